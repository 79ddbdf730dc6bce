"""Times onnxruntime on one model in its own process (so peak RSS is onnxruntime's alone)."""
import json, sys, time
import numpy as np
import onnxruntime as ort

model, inputs, threads, iterations, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
x = np.load(inputs)


def peak_rss_mib():
    # VmHWM: ru_maxrss would include the parent's peak, which Linux carries across exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
t0 = time.perf_counter()
sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
load = time.perf_counter() - t0
name = sess.get_inputs()[0].name
y = sess.run(None, {name: x})[0]
times = []
for _ in range(iterations):
    t = time.perf_counter()
    sess.run(None, {name: x})
    times.append(time.perf_counter() - t)
times.sort()
np.save(out, y)
print(json.dumps(dict(load_seconds=load, median_batch_seconds=times[len(times) // 2], min_batch_seconds=times[0],
                      images_per_second=x.shape[0] / times[len(times) // 2],
                      peak_rss_mib=peak_rss_mib())))
