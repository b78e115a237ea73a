"""Clients generated from the OpenAPI document compile, with the answers and the problems
typed (issue 21): what a Java or .NET or TypeScript case system gets from ``/openapi.json``.

- TypeScript: ``openapi-typescript`` (npm) makes the types, and a small program that calls
  sync-dossier, reads its typed answer (``Accepted``) and its typed problem (``Problem``) is
  type-checked by ``tsc --strict``; ``@ts-expect-error`` lines prove the types are not ``any``.
- Java: ``openapi-generator-cli`` (PyPI, which ships the generator's jar) makes a client with
  the JDK's own HTTP client (``native``), compiled by ``javac`` against the Jackson jars in the
  machine's Maven repository, with a program that calls sync-dossier and reads its answer.
The tools come from their registries into a cache outside the repository (``LGSP_TOOL_CACHE``,
default ``~/.cache/lgsp-gateway-tests``); each part skips, saying why, where it cannot run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.api.main import create_app
from gateway.core.runtime import Gateway
from gateway.core.store.state import MemoryStateStore
from tests.conftest import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CACHE = Path(os.environ.get("LGSP_TOOL_CACHE", Path.home() / ".cache" / "lgsp-gateway-tests"))
TS_TOOLS = {"openapi-typescript": "7.13.0", "typescript": "5.9.3"}


async def _document(tmp_path: Path) -> Path:
    gw = Gateway(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"), state=MemoryStateStore()
    )
    try:
        document: dict[str, Any] = create_app(gw, run_workers=False, start=False).openapi()
    finally:
        await gw.aclose()
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def _installed_once(
    home: Path, complete: Callable[[Path], bool], install: Callable[[Path], str]
) -> str | None:
    """Make sure ``home`` holds a complete installation (``complete(home)``): if not,
    ``install`` into a directory of this process's own beside it, which is then renamed to
    ``home`` in one step, so that test processes running at once (pytest-xdist workers,
    another checkout's suite) never see nor leave a half-installed ``home``. ``None`` when
    installed, else what ``install`` said."""
    if complete(home):
        return None
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}.", dir=home.parent))
    try:
        said = install(staging)
        if not complete(staging):
            return said or "nothing was installed"
        with contextlib.suppress(OSError):  # another process renamed its copy first: keep it
            staging.rename(home)
        return None if complete(home) else said
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _ts_tools() -> Path:
    """``openapi-typescript`` and ``typescript`` installed once into the cache."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    home = CACHE / ("ts-" + "-".join(f"{k}@{v}" for k, v in TS_TOOLS.items()))

    def install(into: Path) -> str:
        (into / "package.json").write_text('{"private": true}', encoding="utf-8")
        done = _run(
            [npm, "install", "--no-audit", "--no-fund", *(f"{k}@{v}" for k, v in TS_TOOLS.items())],
            into,
        )
        return done.stderr

    problem = _installed_once(
        home, lambda d: (d / "node_modules" / ".bin" / "tsc").exists(), install
    )
    if problem is not None:
        pytest.skip(f"the npm registry could not be reached: {problem[-300:]}")
    return home / "node_modules" / ".bin"


PROGRAM = """
import type { paths } from "./api";

type Sync = paths["/v1/dvcqg/dossiers"]["post"];
type Dossier = Sync["requestBody"]["content"]["application/json"];
type Accepted = Sync["responses"][202]["content"]["application/json"];
type Problem = Sync["responses"][422]["content"]["application/problem+json"];
type Refused = Sync["responses"][401]["content"]["application/problem+json"];

export async function syncDossier(
  base: string, key: string, dossier: Dossier, idempotencyKey: string,
): Promise<Accepted | Problem> {
  const answer = await fetch(`${base}/v1/dvcqg/dossiers`, {
    method: "POST",
    headers: {
      "Authorization": `Bearer ${key}`,
      "Content-Type": "application/json",
      "Idempotency-Key": idempotencyKey,
    },
    body: JSON.stringify(dossier),
  });
  if (answer.status === 202) {
    const accepted = (await answer.json()) as Accepted;
    const follow: string = accepted.links.self;
    const queued: "queued" = accepted.status;
    console.log(accepted.exchange_id, follow, queued);
    return accepted;
  }
  const problem = (await answer.json()) as Problem;
  const fields: string[] = (problem.errors ?? []).map((e) => `${e.loc}: ${e.msg}`);
  const status: number = problem.status;
  console.error(problem.type, status, problem.detail, fields, problem.request_id);
  return problem;
}

const dossier: Dossier = {
  ma_ho_so: "000.00.01.H22-240105-0001",
  ma_tthc: "1.001776",
  ten_tthc: "Đăng ký khai sinh",
  ma_linh_vuc: "G03-HT01",
  ten_linh_vuc: "Hộ tịch",
  kenh_thuc_hien: "truc_tiep",
  chu_ho_so: "Nguyễn Thị Lan",
  so_giay_to_chu_ho_so: "001190000001",
  loai_doi_tuong: "cong_dan",
  so_dien_thoai: "0912345678",
  trich_yeu: "Đăng ký khai sinh cho con",
  ngay_tiep_nhan: "2024-01-05T08:01:00+07:00",
  ngay_hen_tra: "2024-01-08T08:01:00+07:00",
  trang_thai: "da_tiep_nhan",
  don_vi_xu_ly: "UBND xã Tân Lập",
};
void syncDossier("http://127.0.0.1:8000", "key", dossier, "id-1");

// the types are real, not any or unknown:
export function notAny(accepted: Accepted, refused: Refused): void {
  // @ts-expect-error: the answer has no such field
  void accepted.no_such_field;
  // @ts-expect-error: the status of an accepted packet is "queued", not a number
  const wrong: number = accepted.status;
  void wrong;
  // @ts-expect-error: a problem's status is a number
  const text: string = refused.status;
  void text;
}
"""


async def test_a_typescript_client_type_checks(tmp_path: Path) -> None:
    bins = _ts_tools()
    document = await _document(tmp_path)
    # fields with a default are optional in what the case system sends (openapi-typescript
    # would otherwise make them required everywhere)
    made = _run(
        [
            str(bins / "openapi-typescript"),
            str(document),
            "--default-non-nullable",
            "false",
            "-o",
            "api.d.ts",
        ],
        tmp_path,
    )
    assert made.returncode == 0, made.stderr
    (tmp_path / "main.ts").write_text(PROGRAM, encoding="utf-8")
    checked = _run(
        [
            str(bins / "tsc"),
            "--strict",
            # TypeScript's own lib files (lib.dom.d.ts, ...) are not under test: not checking
            # them halves tsc's CPU; the generated api.d.ts and main.ts are checked as before
            "--skipDefaultLibCheck",
            "--noEmit",
            "--target",
            "es2022",
            "--module",
            "es2022",
            "--moduleResolution",
            "bundler",
            "--lib",
            "es2022,dom",
            "main.ts",
        ],
        tmp_path,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # and a mistake is caught: a field the dossier does not have
    (tmp_path / "main.ts").write_text(
        PROGRAM.replace('don_vi_xu_ly: "UBND xã Tân Lập",', "khong_co: 1,"), encoding="utf-8"
    )
    wrong = _run(
        [
            str(bins / "tsc"),
            "--strict",
            "--skipDefaultLibCheck",
            "--noEmit",
            "--lib",
            "es2022,dom",
            "main.ts",
        ],
        tmp_path,
    )
    assert wrong.returncode != 0
    assert "khong_co" in wrong.stdout


GENERATOR_JAR = "openapi-generator.jar"
#: the JVMs here run for seconds: the client compiler alone (no C2 warming up on other cores)
#: and the serial collector take the generator and javac from ~9 and ~12 s of CPU to ~4 each
JVM_QUICK = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
#: the Java client's dependencies, from the machine's Maven repository (no download)
JAVA_JARS = (
    "com/fasterxml/jackson/core/jackson-databind/2.17.2/jackson-databind-2.17.2.jar",
    "com/fasterxml/jackson/core/jackson-core/2.17.2/jackson-core-2.17.2.jar",
    "com/fasterxml/jackson/core/jackson-annotations/2.17.2/jackson-annotations-2.17.2.jar",
    "com/fasterxml/jackson/datatype/jackson-datatype-jsr310/2.17.1/jackson-datatype-jsr310-2.17.1.jar",
    "jakarta/annotation/jakarta.annotation-api/2.1.1/jakarta.annotation-api-2.1.1.jar",
    "com/google/code/findbugs/jsr305/3.0.2/jsr305-3.0.2.jar",
)

JAVA_PROGRAM = """
import java.io.File;
import java.util.stream.Collectors;
import vn.lgsp.ApiClient;
import vn.lgsp.ApiException;
import vn.lgsp.api.DvcqgApi;
import vn.lgsp.model.Accepted;
import vn.lgsp.model.HoSo;
import vn.lgsp.model.Problem;

public class Main {
  public static void main(String[] args) throws Exception {
    ApiClient client = new ApiClient();
    client.updateBaseUri(args[0]);
    client.setRequestInterceptor(b -> b.header("Authorization", "Bearer " + args[1]));
    DvcqgApi dvcqg = new DvcqgApi(client);
    HoSo dossier = client.getObjectMapper().readValue(new File(args[2]), HoSo.class);
    Accepted accepted = dvcqg.dvcqgSyncDossier(dossier, "java-" + dossier.getMaHoSo());
    System.out.println("accepted " + accepted.getExchangeId() + " " + accepted.getStatus()
        + " " + accepted.getLinks().getSelf());
    dossier.setMaTthc("9.999999");
    try {
      dvcqg.dvcqgSyncDossier(dossier, null);
      System.out.println("not refused");
    } catch (ApiException refused) {
      Problem problem =
          client.getObjectMapper().readValue(refused.getResponseBody(), Problem.class);
      String fields =
          problem.getErrors().stream().map(e -> e.getLoc()).collect(Collectors.joining(","));
      System.out.println("problem " + refused.getCode() + " " + problem.getType() + " " + fields);
    }
  }
}
"""


def _java_tools() -> tuple[Path, str]:
    """The generator's jar (from the PyPI package) and the class path of the client's
    dependencies, or skip saying what is missing."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (javac) on this machine")
    home = CACHE / "openapi-generator-cli-7.26.0"

    def install(into: Path) -> str:
        done = _run(
            [
                shutil.which("python3") or "python3",
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--target",
                str(into),
                "openapi-generator-cli==7.26.0",
            ],
            into,
        )
        return done.stderr

    problem = _installed_once(
        home, lambda d: next(d.rglob(GENERATOR_JAR), None) is not None, install
    )
    jar = next(home.rglob(GENERATOR_JAR), None) if home.exists() else None
    if problem is not None or jar is None:
        pytest.skip(f"openapi-generator-cli could not be installed from PyPI: {problem}")
    repository = Path.home() / ".m2" / "repository"
    missing = [j for j in JAVA_JARS if not (repository / j).exists()]
    if missing:
        pytest.skip(f"the Maven repository holds none of {missing} (no Maven Central here)")
    return jar, os.pathsep.join(str(repository / j) for j in JAVA_JARS)


async def test_a_java_client_compiles_and_calls_sync_dossier(tmp_path: Path) -> None:
    from tests.e2e import procs
    from tests.factories import dossier

    jar, classpath = _java_tools()
    CACHE.mkdir(parents=True, exist_ok=True)
    document = await _document(tmp_path)
    made = _run(
        [
            "java",
            *JVM_QUICK,
            "-jar",
            str(jar),
            "generate",
            "-i",
            str(document),
            "-g",
            "java",
            "--library",
            "native",
            "-o",
            "client",
            "--additional-properties=openApiNullable=false,useJakartaEe=true,"
            "hideGenerationTimestamp=true,apiPackage=vn.lgsp.api,"
            "modelPackage=vn.lgsp.model,invokerPackage=vn.lgsp",
        ],
        tmp_path,
    )
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    (tmp_path / "Main.java").write_text(JAVA_PROGRAM, encoding="utf-8")
    sources = sorted(str(p) for p in (tmp_path / "client" / "src" / "main").rglob("*.java"))
    (tmp_path / "sources.txt").write_text("\n".join([*sources, "Main.java"]), encoding="utf-8")
    compiled = _run(
        [
            "javac",
            *(f"-J{option}" for option in JVM_QUICK),
            "-nowarn",
            "-d",
            "classes",
            "-cp",
            classpath,
            "@sources.txt",
        ],
        tmp_path,
    )
    assert compiled.returncode == 0, compiled.stderr[-3000:]

    # and it works: the generated client against a running gateway
    sandbox_port = procs.free_port()
    env = procs.gateway_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/java.db", sandbox_port=sandbox_port
    )
    key = procs.create_client_key(env, "java-case-system", ["dvcqg:sync"])
    (tmp_path / "dossier.json").write_text(json.dumps(dossier(3)), encoding="utf-8")
    logs = tmp_path / "logs"
    with procs.sandbox(env, logs, sandbox_port), procs.server(env, logs) as server:
        ran = _run(
            [
                "java",
                *JVM_QUICK,
                "-cp",
                os.pathsep.join(["classes", classpath]),
                "Main",
                server.base_url,
                key,
                "dossier.json",
            ],
            tmp_path,
            timeout=120,
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    accepted, problem = ran.stdout.strip().splitlines()
    word, exchange_id, status, follow = accepted.split()
    assert (word, status, follow) == ("accepted", "queued", f"/v1/exchanges/{exchange_id}")
    assert problem.split()[:3] == ["problem", "422", "urn:lgsp:problem:invalid-input"]
    assert "ma_tthc" in problem.split()[3]
