-- wrk script for bench/gateway/run.sh: GET / with "Authorization: Bearer $BENCH_TOKEN" on every
-- request, for every target (the direct upstream and the plain nginx proxy ignore the header,
-- so the request bytes are identical everywhere). No per-response callback, so wrk's own cost
-- is the same for every target. done() prints one machine-readable BENCH_RESULT line;
-- errors.status counts responses with a status of 400 or more (wrk's "Non-2xx or 3xx").
local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
  error("BENCH_TOKEN is not set")
end

wrk.method = "GET"
wrk.path = "/"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "*/*"

function done(summary, latency, requests)
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d status_errors=%d connect_errors=%d " ..
    "read_errors=%d write_errors=%d timeouts=%d lat_mean_us=%.1f lat_p50_us=%d " ..
    "lat_p90_us=%d lat_p99_us=%d lat_max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
