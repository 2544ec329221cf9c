#!/usr/bin/env python3
"""librdkafka's in-process mock Kafka cluster, started through ctypes from the
confluent-kafka wheel's bundled librdkafka, with a small HTTP control API on
127.0.0.1 so tests can inject the faults the mock supports.

Usage: kafka_mock_cluster.py --brokers 3 --control-port 19190 --bootstrap-file FILE

Control API (all POST unless noted; 200 with a short text body, 4xx on bad input):
  GET  /bootstrap                                  bootstrap servers
  POST /brokers/ID/down | /brokers/ID/up           take a broker down / bring it back
  POST /brokers/ID/rtt?ms=N                        add round-trip latency to a broker
  POST /topics?name=T&partitions=N&replication=R   create a topic
  POST /partitions/leader?topic=T&partition=P&broker=ID
  POST /partitions/followers?topic=T&partition=P&brokers=1,2,3
  POST /errors?api=KEY&codes=C1,C2,...             next requests of API KEY fail with these codes

The mock does not implement CreateTopics over the wire, keeps about 5 MiB per
partition, and neither models ISR nor filters aborted transactions.
"""
import argparse
import ctypes
import glob
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import confluent_kafka


def load_librdkafka():
    base = os.path.dirname(confluent_kafka.__file__)
    candidates = glob.glob(os.path.join(base, "..", "confluent_kafka.libs", "librdkafka*.so*"))
    candidates += glob.glob(os.path.join(base, ".libs", "librdkafka*.so*"))
    if not candidates:
        sys.exit("librdkafka not found in the confluent-kafka wheel")
    rd = ctypes.CDLL(candidates[0])
    vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    rd.rd_kafka_conf_new.restype = vp
    rd.rd_kafka_conf_set.argtypes = [vp, cp, cp, cp, ctypes.c_size_t]
    rd.rd_kafka_new.restype = vp
    rd.rd_kafka_new.argtypes = [i, vp, cp, ctypes.c_size_t]
    rd.rd_kafka_mock_cluster_new.restype = vp
    rd.rd_kafka_mock_cluster_new.argtypes = [vp, i]
    rd.rd_kafka_mock_cluster_bootstraps.restype = cp
    rd.rd_kafka_mock_cluster_bootstraps.argtypes = [vp]
    rd.rd_kafka_mock_broker_set_down.argtypes = [vp, ctypes.c_int32]
    rd.rd_kafka_mock_broker_set_up.argtypes = [vp, ctypes.c_int32]
    rd.rd_kafka_mock_broker_set_rtt.argtypes = [vp, ctypes.c_int32, i]
    rd.rd_kafka_mock_topic_create.argtypes = [vp, cp, i, i]
    rd.rd_kafka_mock_partition_set_leader.argtypes = [vp, cp, ctypes.c_int32, ctypes.c_int32]
    rd.rd_kafka_mock_partition_set_follower.argtypes = [vp, cp, ctypes.c_int32, ctypes.c_int32]
    rd.rd_kafka_mock_push_request_errors_array.argtypes = [vp, ctypes.c_int16, ctypes.c_size_t, ctypes.POINTER(i)]
    rd.rd_kafka_version_str.restype = cp
    return rd


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--control-port", type=int, default=19190)
    parser.add_argument("--bootstrap-file", required=True)
    args = parser.parse_args()

    rd = load_librdkafka()
    conf = rd.rd_kafka_conf_new()
    err = ctypes.create_string_buffer(512)
    # Quiet: this handle only owns the mock cluster, it never connects anywhere.
    rd.rd_kafka_conf_set(conf, b"log_level", b"3", err, 512)
    handle = rd.rd_kafka_new(0, conf, err, 512)
    if not handle:
        sys.exit("rd_kafka_new failed: " + err.value.decode())
    cluster = rd.rd_kafka_mock_cluster_new(handle, args.brokers)
    if not cluster:
        sys.exit("rd_kafka_mock_cluster_new failed")
    bootstrap = rd.rd_kafka_mock_cluster_bootstraps(cluster).decode()
    lock = threading.Lock()

    class Control(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def reply(self, status, text):
            body = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if urlparse(self.path).path == "/bootstrap":
                return self.reply(200, bootstrap)
            self.reply(404, "unknown path")

        def do_POST(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            parts = [p for p in url.path.split("/") if p]
            try:
                with lock:
                    result = self.dispatch(parts, query)
            except (KeyError, ValueError) as error:
                return self.reply(400, f"bad request: {error}")
            if result is None:
                return self.reply(404, "unknown path")
            code, text = result
            self.reply(200 if code == 0 else 500, text if code == 0 else f"librdkafka error {code}")

        @staticmethod
        def dispatch(parts, q):
            if len(parts) == 3 and parts[0] == "brokers":
                broker = int(parts[1])
                if parts[2] == "down":
                    return rd.rd_kafka_mock_broker_set_down(cluster, broker), f"broker {broker} down"
                if parts[2] == "up":
                    return rd.rd_kafka_mock_broker_set_up(cluster, broker), f"broker {broker} up"
                if parts[2] == "rtt":
                    return rd.rd_kafka_mock_broker_set_rtt(cluster, broker, int(q["ms"])), "rtt set"
            if parts == ["topics"]:
                code = rd.rd_kafka_mock_topic_create(cluster, q["name"].encode(), int(q.get("partitions", 1)), int(q.get("replication", 1)))
                return code, "topic created"
            if parts == ["partitions", "leader"]:
                code = rd.rd_kafka_mock_partition_set_leader(cluster, q["topic"].encode(), int(q["partition"]), int(q["broker"]))
                return code, "leader set"
            if parts == ["partitions", "followers"]:
                for broker in q["brokers"].split(","):
                    rd.rd_kafka_mock_partition_set_follower(cluster, q["topic"].encode(), int(q["partition"]), int(broker))
                return 0, "followers set"
            if parts == ["errors"]:
                codes = [int(c) for c in q["codes"].split(",")]
                array = (ctypes.c_int * len(codes))(*codes)
                rd.rd_kafka_mock_push_request_errors_array(cluster, int(q["api"]), len(codes), array)
                return 0, f"{len(codes)} errors queued"
            return None

    server = ThreadingHTTPServer(("127.0.0.1", args.control_port), Control)
    with open(args.bootstrap_file + ".tmp", "w") as out:
        out.write(bootstrap + "\n")
    os.replace(args.bootstrap_file + ".tmp", args.bootstrap_file)
    print(f"librdkafka {rd.rd_kafka_version_str().decode()} mock cluster: {bootstrap}; control http://127.0.0.1:{args.control_port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
