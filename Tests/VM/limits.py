"""Limits enforced through cgroup v2 under the service, seen from inside sandboxes and from the host:
memory.max and memory.swap.max (an allocation over the function's memory dies with Lambda's outcome),
pids.max (a thread bomb stays inside), the timeout, cpu.max, memory.peak in REPORT, and /tmp on a disk
of its own (a 128 MB function writes 160 MB there: page cache its cgroup v2 reclaims)."""
import base64, concurrent.futures, glob, io, json, os, subprocess, tempfile, time, zipfile
import boto3, botocore.config

# Software emulation is slow: long reads, and no retry that would run an invocation twice.
c = boto3.client("lambda", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",
                 aws_access_key_id="any", aws_secret_access_key="any",
                 config=botocore.config.Config(read_timeout=600, retries={"max_attempts": 1}))
CODE = r'''
import os, time
def memory(event, context):
    chunks = []
    for _ in range(event["mb"]):
        chunks.append(bytearray(1 << 20))
    return len(chunks)
def threads(event, context):
    # Threads count against pids.max as processes do, and start far faster than forks under emulation.
    import threading
    threading.stack_size(64 << 10)
    stop = threading.Event()
    started = 0
    try:
        while started < 5000:
            threading.Thread(target=stop.wait, daemon=True).start()
            started += 1
    except RuntimeError as error:
        stop.set()
        return {"threads": started, "error": str(error)}
    stop.set()
    return {"threads": started}
def fill(event, context):
    import errno
    written, error = 0, None
    try:
        with open("/tmp/fill", "wb") as f:
            for _ in range(event["mb"]):
                f.write(b"x" * (1 << 20))
                f.flush()
    except OSError as e:
        error = errno.errorcode.get(e.errno)
    written = os.path.getsize("/tmp/fill")
    os.remove("/tmp/fill")
    # The last mount at /tmp is the one seen (a prepared sandbox's tmpfs is under its disk).
    fstype = [l.split()[2] for l in open("/proc/mounts") if l.split()[1] == "/tmp"]
    return {"written": written, "error": error, "fstype": fstype}
def sleep(event, context):
    time.sleep(event["seconds"])
    return "slept"
'''
work = tempfile.mkdtemp()
with open(os.path.join(work, "app.py"), "w") as f:
    f.write(CODE)
subprocess.run(["zip", "-q", "-j", os.path.join(work, "fn.zip"), os.path.join(work, "app.py")], check=True)
zipped = open(os.path.join(work, "fn.zip"), "rb").read()

def create(name, handler, memory=128, timeout=30):
    c.create_function(FunctionName=name, Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth",
                      Handler="app." + handler, Code={"ZipFile": zipped}, MemorySize=memory, Timeout=timeout)

def invoke(name, event):
    t0 = time.time()
    r = c.invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
    print("  %s %s: %.1f s" % (name, json.dumps(event), time.time() - t0))
    return r, json.loads(r["Payload"].read()), base64.b64decode(r.get("LogResult", "")).decode(errors="replace")

# Memory: 128 MB, 400 MB allocated: the sandbox is killed, the log names Runtime.OutOfMemory. 128 MB buys 7%
# of a CPU, and under emulation that filled 97 MB in 30 s once: a timeout that reaching the limit never meets.
create("mem", "memory", timeout=300)
r, body, tail = invoke("mem", {"mb": 40})
assert "FunctionError" not in r and body == 40, (r, body)
peak = [int(l.split("Max Memory Used: ")[1].split()[0]) for l in tail.splitlines() if "Max Memory Used: " in l]
assert peak and 40 <= peak[0] <= 128, tail
r, body, tail = invoke("mem", {"mb": 400})
assert r.get("FunctionError") == "Unhandled", (r, body)
assert "Runtime.OutOfMemory" in tail or "Runtime.OutOfMemory" in json.dumps(body), (body, tail)
print("memory: 40 MB ran (Max Memory Used %d MB), 400 MB in 128 MB ->" % peak[0], body.get("errorType"))

# /tmp is disk: 160 MB written by a 128 MB function (page cache its cgroup reclaims; on a tmpfs it would be
# killed). The size limit is the filesystem's and is tested on the host; emulation makes big writes slow.
create("fill", "fill", timeout=600)
r, body, tail = invoke("fill", {"mb": 160})
assert "FunctionError" not in r and body["written"] == 160 << 20 and body["error"] is None and body["fstype"][-1] == "ext4", (r, body, tail)
print("tmp: 160 MB written by a 128 MB function on its own ext4 /tmp")

# pids: a thread bomb is stopped at the sandbox's pids.max (1024 tasks, whatever the memory), and the
# function still answers. At 1024 MB it has 58% of a CPU, not 128 MB's 7%: 150 s less under emulation.
create("threads", "threads", memory=1024, timeout=300)
r, body, tail = invoke("threads", {})
assert "FunctionError" not in r and "can't start new thread" in body.get("error", "") and 900 <= body["threads"] < 1024, body
print("pids: thread creation refused after %d threads" % body["threads"])

# The timeout: 1 s against a 5 s sleep.
create("slow", "sleep", timeout=1)
r, body, tail = invoke("slow", {"seconds": 5})
assert r.get("FunctionError") == "Unhandled" and "Task timed out after 1.00 seconds" in body.get("errorMessage", ""), body
print("timeout:", body["errorMessage"])

# The cgroup files of a busy sandbox (the one with 192 MB), read from the host while it sleeps: once its
# init is over (init runs without a CPU quota, as Lambda's does), its CPU share applies.
create("hold", "sleep", memory=192)
with concurrent.futures.ThreadPoolExecutor(1) as pool:
    running = pool.submit(invoke, "hold", {"seconds": 20})
    files = None
    deadline = time.time() + 60
    while time.time() < deadline and not running.done():
        for d in glob.glob("/sys/fs/cgroup/system.slice/hearth.service/**/sb-*", recursive=True):
            try:
                if open(d + "/memory.max").read().strip() != str(192 << 20) or open(d + "/cpu.max").read().startswith("max"):
                    continue
                files = {n: open(d + "/" + n).read().strip() for n in ["memory.max", "memory.swap.max", "pids.max", "cpu.max", "memory.peak"]}
                found = d
            except OSError:
                pass
        if files:
            break
        time.sleep(0.1)
    assert files, "no busy sandbox cgroup with memory.max 192 MB and a CPU quota"
    print("cgroup", found.split("/hearth.service/")[1], files)
    assert files["memory.swap.max"] == "0" and files["pids.max"] == "1024", files
    assert int(files["cpu.max"].split()[0]) > 0 and int(files["memory.peak"]) > (4 << 20), files
    assert os.path.exists(found + "/cgroup.kill")
    r, body, tail = running.result()
    assert body == "slept", body
