-- The soak's mix (bench/soak.sh sets the environment): structure dashboards,
-- run reads, the region's dashboard, EDS run lists, small patient uploads and
-- PEPS what-if submissions. Counts answers by status class per thread;
-- done() prints them with the latency percentiles.
local token = os.getenv("SOAK_TOKEN")
local sid = os.getenv("SOAK_STRUCTURE")
local run = os.getenv("SOAK_PEPS_RUN")
local upload = io.open(os.getenv("SOAK_UPLOAD")):read("*a")
local auth = { ["Authorization"] = "Bearer " .. token }
local csv = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "text/csv" }
local json = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

-- out of 100 requests
local mix = {
	{ 40, "GET", "/v1/structures/" .. sid .. "/dashboard?year=2024", auth, nil },
	{ 20, "GET", "/v1/peps/runs/" .. run .. "/lines?limit=50", auth, nil },
	{ 10, "GET", "/v1/regions/84/dashboard?year=2024", auth, nil },
	{ 13, "GET", "/v1/eds/runs?limit=20", auth, nil },
	{ 5, "GET", "/v1/structures/" .. sid .. "/care-gaps?year=2024&limit=50", auth, nil },
	{ 10, "POST", "/v1/structures/" .. sid .. "/uploads?kind=patients", csv, upload },
	{ 2, "POST", "/v1/structures/" .. sid .. "/peps/runs", json,
	  '{"year":2024,"what_if":true,"phase":"simulation","option":"whole"}' },
}
local requests, weights = {}, {}
for _, m in ipairs(mix) do
	table.insert(requests, wrk.format(m[2], m[3], m[4], m[5]))
	table.insert(weights, m[1])
end

local threads = {}
function setup(thread)
	table.insert(threads, thread)
end

-- globals: done() reads them from each thread
n, ok, s503, s5xx, s4xx = 0, 0, 0, 0, 0
function request()
	n = n + 1
	local k, pick = (n * 7919) % 100, 1
	for i, w in ipairs(weights) do
		if k < w then pick = i break end
		k = k - w
	end
	return requests[pick]
end

function response(status)
	if status == 503 then s503 = s503 + 1
	elseif status >= 500 then s5xx = s5xx + 1
	elseif status >= 400 then s4xx = s4xx + 1
	else ok = ok + 1 end
end

function done(summary, latency)
	local t = { ok = 0, s503 = 0, s5xx = 0, s4xx = 0 }
	for _, th in ipairs(threads) do
		for k in pairs(t) do t[k] = t[k] + th:get(k) end
	end
	io.write(string.format("SOAK requests=%d ok=%d s4xx=%d s503=%d s5xx=%d socket_errors=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
		summary.requests, t.ok, t.s4xx, t.s503, t.s5xx,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
