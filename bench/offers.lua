-- wrk script: GET /api/v1/offers with filters, sorts and pages drawn at
-- random for every request (so no response is simply repeated).
local sorts = { "price_asc", "price_desc", "newest", "uptime" }
local tiers = { "bronze", "silver", "gold" }
local images = { "debian-12", "lamp", "postgresql-16" }

math.randomseed(os.time())

local function maybe(probability, text)
  if math.random() < probability then return text end
  return ""
end

request = function()
  local query = "sort=" .. sorts[math.random(#sorts)]
    .. "&page=" .. math.random(1, 50)
    .. maybe(0.4, "&zone=zone-" .. math.random(0, 9))
    .. maybe(0.3, "&sla=" .. tiers[math.random(#tiers)])
    .. maybe(0.2, "&min_vcpu=" .. math.random(1, 16))
    .. maybe(0.2, "&min_ram_gib=" .. math.random(2, 32))
    .. maybe(0.3, "&max_price=" .. math.random(5, 200))
    .. maybe(0.1, "&image=" .. images[math.random(#images)])
  return wrk.format("GET", "/api/v1/offers?" .. query)
end
