-- wrk script for every load of make bench. Arguments are key=value:
--   users=FILE   buyers (lines "id<TAB>name<TAB>token"): each request carries the next one's
--                Bearer token, round robin from a random place
--   from=N to=M  only the buyers on those lines of the file (1-based)
--   each=1       every buyer once: wrk ends when each has had an answer
--   path=P       the path asked for, or
--   paths=FILE   one "METHOD PATH" per line, round robin
--   method=M     the method for path= (GET)
--   limit=N      wrk ends after N answers
-- each= and limit= need one thread (-t 1): the first thread to reach its count ends wrk (it
-- has no request count of its own), without wrk's summary.
local tokens, paths = {}, {}
local method, path = "GET", "/"
local n, p, limit, answers = 0, 0, nil, 0
function init(args)
	local o = {}
	for _, a in ipairs(args) do
		local k, v = a:match("^([%w_]+)=(.*)$")
		if k then o[k] = v end
	end
	local from, to = tonumber(o.from or "1"), tonumber(o.to or "1e15")
	if o.users then
		local i = 0
		for line in io.lines(o.users) do
			i = i + 1
			local tok = line:match("^[^\t]+\t[^\t]+\t([^\t]+)$")
			if tok and i >= from and i <= to then
				tokens[#tokens + 1] = tok
			end
		end
	end
	if o.paths then
		for line in io.lines(o.paths) do
			local m, q = line:match("^(%u+) (%S+)$")
			if m then paths[#paths + 1] = { m, q } end
		end
	end
	method, path = o.method or "GET", o.path or "/"
	if o.limit then limit = tonumber(o.limit) end
	if o.each then limit = #tokens end
	if not o.each then
		n = math.random(math.max(#tokens, 1))
		p = math.random(math.max(#paths, 1))
	end
	if limit then
		-- Defined only when wanted: wrk reads answers for a script that has it.
		response = function()
			answers = answers + 1
			if answers >= limit then
				io.write(string.format("ANSWERS %d\n", answers))
				io.stdout:flush()
				os.exit(0)
			end
		end
	end
end

function request()
	local m, q, h = method, path, {}
	if #paths > 0 then
		p = p % #paths + 1
		m, q = paths[p][1], paths[p][2]
	end
	if #tokens > 0 then
		n = n % #tokens + 1
		h["Authorization"] = "Bearer " .. tokens[n]
	end
	return wrk.format(m, q, h, "")
end

function done(summary, latency, requests)
	io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		summary.errors.status, summary.errors.connect + summary.errors.read +
		summary.errors.write + summary.errors.timeout))
end
