-- Where a quote was asked from, so that one address cannot hold a whole
-- offer's capacity through many accounts; and indexes to count the open
-- quotes of a buyer and of an address.
ALTER TABLE quotes ADD COLUMN client_address TEXT;
CREATE INDEX quotes_buyer_status ON quotes (buyer_id, status);
CREATE INDEX quotes_address_status ON quotes (client_address, status);
