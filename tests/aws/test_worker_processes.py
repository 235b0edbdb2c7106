"""How many worker processes a host runs by default: its cores, within a container's CPU quota."""

from airflow_provider_batchorch.aws.worker_processes import cgroup_cpu_quota


def test_a_cgroup_quota_bounds_the_default(tmp_path):
    limits = tmp_path / "cpu.max"
    limits.write_text("200000 100000\n")
    assert cgroup_cpu_quota(str(limits)) == 2
    limits.write_text("50000 100000\n")  # half a CPU: still one process
    assert cgroup_cpu_quota(str(limits)) == 1
    limits.write_text("max 100000\n")
    assert cgroup_cpu_quota(str(limits)) is None
    assert cgroup_cpu_quota(str(tmp_path / "absent")) is None
