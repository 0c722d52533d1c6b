-- wrk script: POST /token with grant_type=client_credentials&scope=read and HTTP Basic client
-- authentication (client_secret_basic). BENCH_BASIC is base64(client_id:client_secret), set by
-- run.sh. The same script is used for every target.
local basic = os.getenv("BENCH_BASIC")
if basic == nil or basic == "" then
  error("BENCH_BASIC is not set")
end

wrk.method = "POST"
wrk.path = "/token"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. basic

-- One machine-readable line after wrk's own report. No per-response callback is defined, so
-- wrk does not parse bodies and the load generator's cost stays the same for every target.
-- errors.status counts responses with a status of 400 or more (wrk's "Non-2xx or 3xx").
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
