// The librdkafka peer of `lab bench kafka` (see KafkaBench.swift): a Python script over
// confluent-kafka (librdkafka underneath), kept as a Swift string so the benchmark finds it
// from any working directory. `lab bench kafka` writes it to a temporary file and runs it
// with the .venv python (scripts/setup installs confluent-kafka there).
let kafkaPeerSource = ##"""
"""The librdkafka peer of `lab bench kafka`: produces MESSAGES keyless records of SIZE bytes
to TOPIC (created, with its leaders elected, by the benchmark) and counts the ones whose
delivery report carries no error.

  kafka_peer.py BOOTSTRAP TOPIC MESSAGES SIZE ACKS IDEMPOTENT LINGER_MS BATCH_SIZE
                BATCH_NUM_MESSAGES MAX_IN_FLIGHT BUFFER_KBYTES MAX_REQUEST_BYTES

Prints one line:
  PEER delivered=<n> failed=<n> seconds=<s> cpu_seconds=<s> maxrss_kb=<peak> baseline_kb=<rss before the producer> \
       ru_maxrss_kb=<getrusage's> [error=<first error>]
Peak memory is VmHWM from /proc/self/status: ru_maxrss would do on its own, but Linux
carries the spawning process's peak over fork+exec, so it reports the benchmark's size.
The timed part runs from the first produce() until flush() returns, after a metadata
round trip that opens the connection and learns the topic (the Swift side does the same).

  kafka_peer.py consume BOOTSTRAP TOPIC MESSAGES SIZE PARTITIONS NUM_MESSAGES FETCH_MAX_BYTES
                MAX_PARTITION_FETCH_BYTES FETCH_WAIT_MAX_MS FETCH_MIN_BYTES FETCH_QUEUE_BACKOFF_MS

reads TOPIC's PARTITIONS from OFFSET_BEGINNING (assign, no group commits) with
consume(num_messages=NUM_MESSAGES) until MESSAGES records, and prints
  PEER consumed=<n> bad=<values not SIZE bytes> seconds=<s> cpu_seconds=<s> maxrss_kb=<peak> baseline_kb=<rss> [error=...]
timed from the first consume() until the last record; the positions must end summing to MESSAGES.
"""
import resource
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def status_kb(field):
    """VmRSS / VmHWM of this process in KiB (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    (bootstrap, topic, messages, size, acks, idempotent, linger_ms, batch_size, batch_num,
     max_in_flight, buffer_kbytes, max_request) = sys.argv[1:13]
    messages = int(messages)
    baseline_kb = status_kb("VmRSS")
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "client.id": "lab-bench-peer",
        "acks": acks,
        "enable.idempotence": idempotent == "1",
        "linger.ms": int(linger_ms),
        "batch.size": int(batch_size),
        "batch.num.messages": int(batch_num),
        "max.in.flight.requests.per.connection": int(max_in_flight),
        "queue.buffering.max.kbytes": int(buffer_kbytes),
        "queue.buffering.max.messages": 2147483647,
        "message.max.bytes": int(max_request),
        "compression.type": "none",
    })
    producer.list_topics(topic, timeout=30)

    value = b"x" * int(size)
    counts = [0, 0]  # delivered, failed
    first_error = []

    def on_delivery(err, msg):
        if err is None:
            counts[0] += 1
        else:
            counts[1] += 1
            if not first_error:
                first_error.append(str(err))

    produce = producer.produce
    poll = producer.poll
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    for _ in range(messages):
        while True:
            try:
                produce(topic, value, on_delivery=on_delivery)
                break
            except BufferError:
                # Local queue full (queue.buffering.max.*): serve delivery reports, retry.
                poll(0.1)
        poll(0)
    remaining = producer.flush(300)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    if remaining and not first_error:
        first_error.append(f"{remaining} records still queued after flush")
    line = (f"PEER delivered={counts[0]} failed={counts[1]} seconds={elapsed:.6f} cpu_seconds={cpu:.6f} "
            f"maxrss_kb={status_kb('VmHWM')} baseline_kb={baseline_kb} "
            f"ru_maxrss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
    if first_error:
        line += " error=" + first_error[0].replace(" ", "_")
    print(line, flush=True)


def consume_main():
    (bootstrap, topic, messages, size, partitions, num_messages, fetch_max, partition_max, wait_ms,
     min_bytes, queue_backoff_ms) = sys.argv[2:13]
    messages, size, num_messages = int(messages), int(size), int(num_messages)
    baseline_kb = status_kb("VmRSS")
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "client.id": "lab-bench-peer-consumer",
        # assign() only: the group id is never joined or committed to.
        "group.id": "lab-bench-peer-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",
        "fetch.max.bytes": int(fetch_max),
        "max.partition.fetch.bytes": int(partition_max),
        "fetch.wait.max.ms": int(wait_ms),
        "fetch.min.bytes": int(min_bytes),
        "check.crcs": True,
        "isolation.level": "read_uncommitted",
        # librdkafka pauses a partition's fetching this long once its local queue passes
        # queued.min.messages (default 1000 ms); the Swift consumer has no such pause.
        "fetch.queue.backoff.ms": int(queue_backoff_ms),
    })
    consumer.list_topics(topic, timeout=30)
    assignment = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(int(partitions))]
    consumer.assign(assignment)
    consume = consumer.consume
    count = bad = idle = 0
    first_error = []
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    while count < messages:
        batch = consume(num_messages=num_messages, timeout=1.0)
        if not batch:
            idle += 1
            if idle >= 30:
                first_error.append(f"no records for 30 s after {count}")
                break
            continue
        idle = 0
        for m in batch:
            if m.error() is not None:
                if not first_error:
                    first_error.append(str(m.error()))
                continue
            count += 1
            if len(m.value()) != size:
                bad += 1
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    peak = status_kb("VmHWM")
    positions = sum(tp.offset for tp in consumer.position(assignment) if tp.offset >= 0)
    if positions != messages and not first_error:
        first_error.append(f"positions sum to {positions}")
    consumer.close()
    line = (f"PEER consumed={count} bad={bad} seconds={elapsed:.6f} cpu_seconds={cpu:.6f} "
            f"maxrss_kb={peak} baseline_kb={baseline_kb}")
    if first_error:
        line += " error=" + first_error[0].replace(" ", "_")
    print(line, flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "consume":
        consume_main()
    else:
        main()
"""##
