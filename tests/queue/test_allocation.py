"""The queue's device rule over a fake machine (Hypothesis): any sequence of queue, finish, kill and
foreign GPU use never gives one device to two runs, never gives a device in foreign use, and never
leaves a queued run waiting that fits what is free."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.queue.devices import FreeDevices, Held, Limits, Need, assign, free_devices, held_by
from tui.system.gpus import GpuReading

GIB = 1 << 30


@dataclass
class Machine:
    """GPUs, CPU slots, the runs holding them, the queue, and processes the queue does not own."""

    gpus: int
    limits: Limits
    queue: list[Need] = field(default_factory=list)
    running: dict[str, Held] = field(default_factory=dict)
    foreign: dict[int, int] = field(default_factory=dict)
    """GPU → memory a foreign process uses on it."""
    serial: int = 0

    def readings(self) -> list[GpuReading]:
        return [GpuReading(i, "fake", None, self.foreign.get(i, 0), 80 * GIB,
                           processes=((4242, self.foreign[i]),) if i in self.foreign else ())
                for i in range(self.gpus)]

    def free(self) -> FreeDevices:
        return free_devices(self.readings(), self.running.values(), self.limits, cpu_count=64)

    def tick(self) -> None:
        free = self.free()
        given_now = assign(self.queue, free)
        names = {need.run: need for need in self.queue}
        taken: set[int] = set()
        for name, gpus in given_now:
            assert set(gpus) <= set(free.gpus) and not taken & set(gpus), "a GPU given twice or not free"
            assert not set(gpus) & set(self.foreign), "a GPU in foreign use was given"
            assert len(gpus) == names[name].gpus
            taken |= set(gpus)
            self.running[name] = Held(frozenset(gpus), names[name].cpu)
        assert sum(names[n].cpu for n, _ in given_now) <= free.cpu_slots
        self.queue = [need for need in self.queue if need.run not in self.running]
        self.check()

    def check(self) -> None:
        held = [h.gpus for h in self.running.values()]
        assert sum(len(g) for g in held) == len(frozenset().union(*held)), "one GPU held by two runs"
        total = self.limits.cpu_slots
        assert total is None or sum(h.cpu for h in self.running.values()) <= total
        left = self.free()
        for need in self.queue:  # whatever still waits does not fit what is free
            assert need.gpus > len(left.gpus) or need.cpu > left.cpu_slots, f"{need} waits on free devices"


OPS = st.one_of(
    st.tuples(st.just("queue"), st.integers(0, 3), st.integers(1, 3)),
    st.tuples(st.just("finish"), st.integers(0, 20)),
    st.tuples(st.just("kill"), st.integers(0, 20)),
    st.tuples(st.just("foreign"), st.integers(0, 3), st.sampled_from([0, 100 << 20, 10 * GIB])),
    st.tuples(st.just("foreign gone"), st.integers(0, 3)),
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 4), st.one_of(st.none(), st.integers(0, 6)), st.one_of(st.none(), st.just(1024)),
       st.lists(OPS, max_size=40))
def test_no_device_twice_and_no_fitting_run_left_waiting(gpus: int, slots: int | None, mem_mib: int | None,
                                                         ops: list[tuple]) -> None:
    machine = Machine(gpus, Limits(cpu_slots=slots if slots is not None else 8, gpu_mem_mib=mem_mib))
    for op in ops:
        kind = op[0]
        if kind == "queue":
            machine.serial += 1
            wants_gpus, cpu = op[1], op[2]
            machine.queue.append(Need(f"r{machine.serial}", gpus=wants_gpus, cpu=0 if wants_gpus else cpu))
        elif kind == "finish" and machine.running:
            del machine.running[sorted(machine.running)[op[1] % len(machine.running)]]
        elif kind == "kill" and machine.queue:  # killed (removed) while it waits
            del machine.queue[op[1] % len(machine.queue)]
        elif kind == "foreign" and op[1] < gpus:
            machine.foreign[op[1]] = op[2]
        elif kind == "foreign gone":
            machine.foreign.pop(op[1], None)
        machine.tick()


def test_a_run_that_does_not_fit_does_not_block_later_ones() -> None:
    queue = [Need("big", gpus=3), Need("small", gpus=1), Need("cpu", cpu=2), Need("cpu2", cpu=1)]
    assert assign(queue, FreeDevices((1, 3), cpu_slots=2)) == [("small", (1,)), ("cpu", ())]
    slurm = [Need("s1", slurm=True), Need("s2", slurm=True)]
    assert assign(slurm, FreeDevices(slurm_slots=1)) == [("s1", ())]


def test_what_live_runs_hold_and_what_nvml_shows_busy() -> None:
    assert held_by({"gpus": "0,2"}) == Held(gpus=frozenset({0, 2}))
    assert held_by({"gpus": "cpu×4"}) == Held(cpu=4) and held_by({"gpus": "cpu"}) == Held(cpu=1)
    assert held_by({"backend": "slurm", "gpus": "1×2"}) == Held(slurm=True)
    readings = [GpuReading(0, "g", None, 0, GIB), GpuReading(1, "g", None, 2 * GIB, 80 * GIB),
                GpuReading(2, "g", None, 0, GIB, processes=((7, None),)), GpuReading(3, "g", None, 0, GIB)]
    held = [Held(gpus=frozenset({3}), cpu=1)]
    free = free_devices(readings, held, Limits(cpu_slots=4, gpu_mem_mib=1024), cpu_count=64)
    assert free == FreeDevices((0,), cpu_slots=3, slurm_slots=4)
    assert free_devices(readings, [], Limits(), cpu_count=2).gpus == (0, 1, 3)  # no threshold: memory alone
