-- Payments through Stripe. A buyer is a Stripe customer; a saved card is a
-- Stripe PaymentMethod (brand, last 4 and expiry kept for display); an
-- order's authorization_id is its PaymentIntent (capture_method=manual).
ALTER TABLE accounts ADD COLUMN stripe_customer_id TEXT;
CREATE UNIQUE INDEX accounts_stripe_customer ON accounts (stripe_customer_id);
ALTER TABLE payment_methods RENAME COLUMN gateway_token TO stripe_payment_method_id;
CREATE UNIQUE INDEX payment_methods_stripe ON payment_methods (stripe_payment_method_id);
