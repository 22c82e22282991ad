-- wrk script for the rush: every request is one buyer (Bearer token, round robin over the
-- users file) hitting the buy endpoint. Arguments: USERS_FILE PATH [METHOD (POST)]
local tokens, n = {}, 0
local path, method

function init(args)
	for line in io.lines(args[1]) do
		local tok = line:match("^[^\t]+\t[^\t]+\t([^\t]+)$")
		if tok then tokens[#tokens + 1] = tok end
	end
	path = args[2]
	method = args[3] or "POST"
	n = math.random(#tokens)
end

function request()
	n = n % #tokens + 1
	return wrk.format(method, path, { ["Authorization"] = "Bearer " .. tokens[n] }, "")
end

function done(summary, latency, requests)
	io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		summary.errors.status, summary.errors.connect + summary.errors.read +
		summary.errors.write + summary.errors.timeout))
end
