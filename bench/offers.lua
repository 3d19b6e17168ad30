-- wrk script: GET /api/v1/offers with a rotating mix of filters, sorts and pages.
local queries = {
  "/api/v1/offers",
  "/api/v1/offers?sort=price_desc",
  "/api/v1/offers?zone=zone-3&sort=uptime",
  "/api/v1/offers?sla=gold&min_vcpu=4",
  "/api/v1/offers?min_ram_gib=16&max_price=60&sort=newest",
  "/api/v1/offers?image=postgresql-16&page=5",
  "/api/v1/offers?zone=zone-7&sla=silver&max_price=30",
  "/api/v1/offers?sort=price_asc&page=200",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", queries[(i % #queries) + 1])
end
