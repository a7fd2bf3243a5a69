"""Forward + backward time of lstm_ref.LSTM against torch.nn.LSTM, in the same run.

    python benchmarks/bench_lstm_ref.py [--repeats 20]

float32 on CPU, T=50, N=32, input 32, hidden 64, 2 layers, bidirectional. Prints the
median time of each and the ratio lstm_ref / torch (target: within 3x).
"""

import argparse
import statistics
import time

import torch

import lstm_ref

T, N, INPUT, HIDDEN, LAYERS = 50, 32, 32, 64, 2


def forward_backward(module, x):
    output, (h_n, c_n) = module(x)
    (output.sum() + h_n.sum() + c_n.sum()).backward()


def median_time(module, x, repeats):
    forward_backward(module, x)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward_backward(module, x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    reference = torch.nn.LSTM(INPUT, HIDDEN, LAYERS, bidirectional=True)
    ours = lstm_ref.LSTM(INPUT, HIDDEN, LAYERS, bidirectional=True)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(T, N, INPUT, requires_grad=True)

    # Alternate to share the machine's load fairly between the two.
    torch_times, ref_times = [], []
    for _ in range(3):
        torch_times.append(median_time(reference, x, args.repeats))
        ref_times.append(median_time(ours, x, args.repeats))
    t_torch, t_ref = min(torch_times), min(ref_times)
    print(f"threads: {torch.get_num_threads()}")
    print(f"torch.nn.LSTM   forward+backward: {t_torch * 1e3:8.2f} ms")
    print(f"lstm_ref.LSTM   forward+backward: {t_ref * 1e3:8.2f} ms")
    print(f"ratio lstm_ref / torch: {t_ref / t_torch:.2f}x (target <= 3x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
