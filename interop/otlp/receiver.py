"""An OTLP/HTTP receiver for the interop suite: every request Candor posts is parsed with the
OpenTelemetry project's own protobuf definitions (the opentelemetry-proto package), strictly
(an unknown field is an error), the way a collector's OTLP receiver reads OTLP/JSON — trace
and span ids hex, as the OTLP specification says, not base64 as plain protobuf JSON would.

    receiver.py PORT OUT.jsonl

Each request appends one JSON line to OUT: its path, whether it parsed, and what it held.
"""
import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

PORT, OUT = int(sys.argv[1]), sys.argv[2]


def hex_ids(items, problems):
    """OTLP/JSON ids are hex: check their length, then turn them into protobuf JSON's base64."""
    for item in items:
        for field, size in (("traceId", 16), ("spanId", 8), ("parentSpanId", 8)):
            value = item.get(field)
            if value is None:
                continue
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                problems.append(f"{field} {value!r} is not hex")
                continue
            if len(raw) != size or raw == bytes(size):
                problems.append(f"{field} {value!r} is not {size} non-zero bytes")
            item[field] = base64.b64encode(raw).decode()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        entry = {"path": self.path, "content_type": self.headers.get("content-type"),
                 "api_key": self.headers.get("x-api-key"), "raw": body.decode("utf-8", "replace"),
                 "problems": []}
        try:
            doc = json.loads(body)
            if self.path == "/v1/logs":
                for rl in doc.get("resourceLogs", []):
                    for sl in rl.get("scopeLogs", []):
                        hex_ids(sl.get("logRecords", []), entry["problems"])
                msg = json_format.ParseDict(doc, ExportLogsServiceRequest())
                records = [r for rl in msg.resource_logs for sl in rl.scope_logs for r in sl.log_records]
                entry["count"] = len(records)
                entry["items"] = [{"severity": r.severity_text, "time": r.time_unix_nano,
                                   "attributes": {a.key: json_format.MessageToDict(a.value) for a in r.attributes}}
                                  for r in records]
                entry["resource"] = {a.key: a.value.string_value for a in msg.resource_logs[0].resource.attributes}
            elif self.path == "/v1/traces":
                for rs in doc.get("resourceSpans", []):
                    for ss in rs.get("scopeSpans", []):
                        hex_ids(ss.get("spans", []), entry["problems"])
                msg = json_format.ParseDict(doc, ExportTraceServiceRequest())
                spans = [s for rs in msg.resource_spans for ss in rs.scope_spans for s in ss.spans]
                entry["count"] = len(spans)
                entry["items"] = [{"name": s.name, "kind": s.kind, "start": s.start_time_unix_nano,
                                   "end": s.end_time_unix_nano, "status": s.status.code,
                                   "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                                   "parent_span_id": s.parent_span_id.hex()} for s in spans]
            else:
                entry["problems"].append("unknown path")
        except Exception as e:  # the point is to report any way it fails to parse
            entry["problems"].append(f"{type(e).__name__}: {e}")
        with open(OUT, "a") as f:
            f.write(json.dumps(entry) + "\n")
        status = 400 if entry["problems"] else 200
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
