-- Who pays a month's service credit. An instance may have moved between
-- sellers during the month (maintenance, recovery): the sellers whose hosts
-- were down while it was on them pay in proportion to that downtime. The
-- buyer's credit itself stays one row in sla_month_credits.
CREATE TABLE sla_credit_shares (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    month TEXT NOT NULL,
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    credit_cents BIGINT NOT NULL,
    PRIMARY KEY (instance_id, month, seller_id)
);
CREATE INDEX sla_credit_shares_seller ON sla_credit_shares (seller_id);
INSERT INTO sla_credit_shares (instance_id, month, seller_id, credit_cents)
  SELECT instance_id, month, seller_id, credit_cents FROM sla_month_credits WHERE credit_cents > 0;
