"""TLS between the client, the scheduler, the workers and the artifact store, with Dask's own security
configuration and certificates made here (one CA for the cluster, as Dask expects)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import dask.config
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from support import copy_example_distro

from tributary.build.distro import build_distribution
from tributary.build.executors.dask import DaskExecutor, DaskExecutorError
from tributary.build.scheduler import State
from tributary.config import load_project
from tributary.tools import dask as dask_tool


def certificates(directory: Path) -> dask_tool.Tls:
    """A CA, and one certificate it signs for every member (127.0.0.1, server and client use)."""
    directory.mkdir(parents=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tributary test cluster CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tributary test member")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    tls = dask_tool.Tls(directory / "ca.pem", directory / "member.pem", directory / "member.key")
    tls.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    tls.key.chmod(0o600)
    return tls


def test_client_scheduler_workers_and_store_speak_tls_only(tmp_path, example_upstream, trib_cache) -> None:
    tls = certificates(tmp_path / "certs")
    services = []
    try:
        with open(tmp_path / "scheduler.log", "ab") as log:
            services.append(dask_tool.start(dask_tool.scheduler_args(
                host="127.0.0.1", dashboard=None, scheduler_file=tmp_path / "scheduler.json", tls=tls), log=log))
        address = dask_tool.wait_for_address(tmp_path / "scheduler.json", services[0], tmp_path / "scheduler.log",
                                             timeout=120)
        assert address.startswith("tls://127.0.0.1:")
        with open(tmp_path / "worker.log", "ab") as log:
            services.append(dask_tool.start(dask_tool.worker_args(address, name="tls1", host="127.0.0.1", tls=tls),
                                            log=log, env={"TRIB_CACHE_DIR": str(trib_cache)}))
        distro = copy_example_distro(tmp_path, example_upstream.root, lookaside=True)
        project = load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])
        security = {"distributed.comm.tls.ca-file": str(tls.ca_file),
                    "distributed.comm.tls.client.cert": str(tls.cert),
                    "distributed.comm.tls.client.key": str(tls.key),
                    "distributed.comm.require-encryption": True}
        with dask.config.set(security), DaskExecutor.connect(address) as executor:
            executor.client.wait_for_workers(1, timeout=120)
            _, jobs = build_distribution(project, ["tribex-release"], executor=executor)
            store = executor.store_url
            assert store is not None and store.startswith("https://127.0.0.1:")
            # The store refuses whoever has no certificate of the cluster's CA, even knowing the CA.
            anonymous = ssl.create_default_context(cafile=str(tls.ca_file))
            anonymous.check_hostname = False
            with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                urllib.request.urlopen(f"{store}/blob/{'0' * 64}", context=anonymous, timeout=30).read()
        assert {name: job.state for name, job in jobs.items()} == {"tribex-rpm-config": State.DONE,
                                                                   "tribex-release": State.DONE}
        assert {job.worker for job in jobs.values()} == {"tls1"}
        assert list(project.output_dir.glob("rpms/*/tribex-release-*.rpm"))
        with pytest.raises(DaskExecutorError, match="cannot reach the Dask scheduler"):  # no TLS, no way in
            DaskExecutor.connect(address.replace("tls://", "tcp://"), timeout=5)
    finally:
        for service in reversed(services):
            service.stop()
