"""The local native-rotation engine: moto's server whose Lambda `invoke` runs a real function.

Secrets Manager's native rotation (`RotateSecret`) invokes a Lambda rotation function once per
step. moto implements `RotateSecret` and its Lambda backend, but runs functions in Docker, which is
not available here. With moto's config `lambda.use_docker=false` it uses `LambdaSimpleBackend`,
whose `invoke` returns a canned result. This launcher starts moto's server with that backend and
replaces its `invoke` with one that runs the function for real:

- the zip given to `CreateFunction` is extracted into a task root (one per function and code hash);
- the AWS Lambda Runtime Interface Emulator (`aws-lambda-rie`, built by `npm run setup` from its Go
  module) serves it on a loopback port, with `bootstrap.sh` starting the official Node runtime
  interface client (`aws-lambda-ric`) on the function's `Handler`;
- the function's environment is its `Environment.Variables` plus what Lambda sets
  (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_REGION`, `_HANDLER`, `LAMBDA_TASK_ROOT`, credentials);
- an emulator instance runs one invocation at a time, like a Lambda execution environment; a
  second invocation while all are busy starts another instance (at most MAX_INSTANCES per function);
- every line the runtime prints goes to this process's stderr, prefixed with the function's name.

Differences from AWS, on purpose or inherited from moto:
- `RotateSecret` is synchronous: it returns after finishSecret, not as soon as rotation starts.
  A step that fails (the function raised, timed out or died) fails the `RotateSecret` call with
  `InvalidRequestException` "Rotation function <name> failed in <step>: …" and the rotation stops
  there, as an AWS rotation does before its retry. AWS retries on its own; here the caller calls
  `RotateSecret` again (moto then adds a new AWSPENDING version, and moves AWSPENDING to it).
- moto sends the secret's name as `SecretId` (AWS sends the ARN), and has no rotation windows, no
  scheduler and no CloudTrail events.
- moto reads only `AutomaticallyAfterDays` (a `ScheduleExpression` leaves rotation disabled, and
  DescribeSecret reports no `ScheduleExpression` or `Duration`): this launcher records the whole of
  `RotationRules` and turns rotation on, as AWS does. It validates none of it (the provider does).
- `RotateImmediately: false`: AWS tests the configuration by invoking testSecret on a new version
  labelled AWSPENDING that holds a copy of the current value, "and then removes it" (the label;
  the value copied is what moto's AWS-verified test observed). moto copies the value the secret
  was created with (none, for a secret created empty), leaves the label on, and sets
  `LastRotatedDate`. This launcher copies the AWSCURRENT value, removes the label, and keeps
  `LastRotatedDate` as it was (inferred: nothing was rotated). With
  `LLAMACLOUD_KEYS_ENGINE_MOTO_TEST_PENDING=keep` it leaves the label on, as moto does.
- The function's role is not enforced; credentials are moto's `test`/`test`.

Environment:
  LLAMACLOUD_KEYS_RIE          the aws-lambda-rie binary (required)
  LLAMACLOUD_KEYS_LAMBDA_NODE  the node binary the runtime uses (default: `node` on PATH)
  LLAMACLOUD_KEYS_LAMBDA_RIC   aws-lambda-ric's index.mjs (default: the repo's node_modules)
  LLAMACLOUD_KEYS_LAMBDA_STATE if set, a directory where each runtime writes its pid as <pid>.pid on
                               start, and this launcher appends one JSON line per invocation to
                               invocations.jsonl ({"step", "secretId", "token", "phase"}) when it
                               starts and ends: a test can tell which step is running and kill the
                               function mid-call (see test/harness/native-engine.ts)

Usage: python native_engine.py -H 127.0.0.1 -p PORT   (the arguments of moto_server)
"""

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile

from moto.core.config import default_user_config

# Must be set before moto picks a Lambda backend for the first call.
default_user_config["lambda"]["use_docker"] = False

from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: E402
from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend  # noqa: E402
from moto.server import main as moto_main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BOOTSTRAP = os.path.join(HERE, "bootstrap.sh")
MAX_INSTANCES = 4
# Tests of code that must also cope with moto's own RotateImmediately=false (see rotate_secret).
_KEEP_TEST_PENDING = os.environ.get("LLAMACLOUD_KEYS_ENGINE_MOTO_TEST_PENDING") == "keep"

_rotating = threading.local()
_work = tempfile.mkdtemp(prefix="llamacloud-keys-lambda-")


def _log(line):
    sys.stderr.write(f"[native-engine] {line}\n")
    sys.stderr.flush()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    """One emulator process (one execution environment), serving one invocation at a time."""

    def __init__(self, fn, task_root, env):
        self.port = _free_port()
        self.busy = False
        rie = os.environ["LLAMACLOUD_KEYS_RIE"]
        # Both of the emulator's listeners on free loopback ports: its Runtime API defaults to
        # 127.0.0.1:9001, which would let only one instance run on the machine.
        runtime_api = f"127.0.0.1:{_free_port()}"
        self.proc = subprocess.Popen(
            [
                rie,
                "--runtime-interface-emulator-address",
                f"127.0.0.1:{self.port}",
                "--runtime-api-address",
                runtime_api,
                BOOTSTRAP,
            ],
            env=env,
            cwd=task_root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        name = fn.function_name
        threading.Thread(target=self._pump, args=(name,), daemon=True).start()
        self._wait_listening()

    def _pump(self, name):
        for raw in iter(self.proc.stdout.readline, b""):
            sys.stderr.write(f"[lambda {name}] {raw.decode('utf-8', 'replace')}")
            sys.stderr.flush()

    def _wait_listening(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aws-lambda-rie exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("aws-lambda-rie did not listen within 30 s")

    def invoke(self, payload):
        url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"
        request = urllib.request.Request(url, data=payload, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=900) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait()


class Runtime:
    """The execution environments of one function (per code hash)."""

    def __init__(self, fn):
        self.fn = fn
        digest = hashlib.sha256(fn.code_bytes).hexdigest()[:16]
        self.task_root = os.path.join(_work, f"{fn.function_name}-{digest}")
        if not os.path.isdir(self.task_root):
            staging = self.task_root + ".partial"
            shutil.rmtree(staging, ignore_errors=True)
            with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as archive:
                archive.extractall(staging)
            os.rename(staging, self.task_root)
        self.instances = []
        self.lock = threading.Condition()

    def _env(self):
        fn = self.fn
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": self.task_root,
            "LAMBDA_RUNTIME_DIR": os.path.dirname(_ric()),
            "_HANDLER": fn.handler or "index.handler",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout),
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "LLAMACLOUD_KEYS_LAMBDA_NODE_BIN": _node(),
            "LLAMACLOUD_KEYS_LAMBDA_RIC_ENTRY": _ric(),
        }
        for name in ("LLAMACLOUD_KEYS_LAMBDA_STATE", "LLAMACLOUD_KEYS_ARTIFACTS_DIR"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        env.update({k: str(v) for k, v in (fn.environment_vars or {}).items()})
        return env

    def acquire(self):
        with self.lock:
            while True:
                self.instances = [i for i in self.instances if i.proc.poll() is None]
                for instance in self.instances:
                    if not instance.busy:
                        instance.busy = True
                        return instance
                if len(self.instances) < MAX_INSTANCES:
                    break
                self.lock.wait()
        instance = Instance(self.fn, self.task_root, self._env())
        instance.busy = True
        with self.lock:
            self.instances.append(instance)
        return instance

    def release(self, instance):
        with self.lock:
            instance.busy = False
            self.lock.notify()


_runtimes = {}
_runtimes_lock = threading.Lock()


def _node():
    return os.environ.get("LLAMACLOUD_KEYS_LAMBDA_NODE") or shutil.which("node") or "node"


def _ric():
    return os.environ.get("LLAMACLOUD_KEYS_LAMBDA_RIC") or os.path.join(
        REPO, "node_modules", "aws-lambda-ric", "index.mjs"
    )


def _runtime_for(fn):
    # A new configuration (UpdateFunctionConfiguration) gets new execution environments, as on AWS.
    config = json.dumps([fn.handler, fn.timeout, fn.environment_vars or {}], sort_keys=True)
    key = (fn.function_arn, hashlib.sha256(fn.code_bytes).hexdigest(), config)
    with _runtimes_lock:
        runtime = _runtimes.get(key)
        if runtime is None:
            runtime = _runtimes[key] = Runtime(fn)
        return runtime


class RotationFunctionFailed(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("InvalidRequestException", message)


def invoke(self, function_name, qualifier, body, headers, response_headers):
    fn = self.get_function(function_name, qualifier)
    payload = body.encode() if isinstance(body, str) else (body or b"{}")
    _record(payload, "start")
    runtime = _runtime_for(fn)
    instance = runtime.acquire()
    try:
        status, answer_headers, answer = instance.invoke(payload)
    except Exception as error:  # the instance died under us: report it as Lambda does
        status, answer_headers, answer = 502, {}, json.dumps(
            {"errorType": "Runtime.ExitError", "errorMessage": str(error)}
        ).encode()
    finally:
        runtime.release(instance)
    failed = status != 200 or _is_error(answer_headers, answer)
    _record(payload, "error" if failed else "end")
    if failed:
        response_headers["x-amz-function-error"] = "Unhandled"
        if getattr(_rotating, "active", False):
            step = "?"
            try:
                step = json.loads(payload).get("Step", "?")
            except ValueError:
                pass
            raise RotationFunctionFailed(
                f"Rotation function {fn.function_name} failed in {step}: {_summary(answer)}"
            )
    return answer


_record_lock = threading.Lock()


def _record(payload, phase):
    state = os.environ.get("LLAMACLOUD_KEYS_LAMBDA_STATE")
    if not state:
        return
    try:
        event = json.loads(payload)
    except ValueError:
        event = {}
    if not isinstance(event, dict):
        event = {}
    line = {
        "phase": phase,
        "step": event.get("Step") or event.get("detail-type"),
        "secretId": event.get("SecretId"),
        "token": event.get("ClientRequestToken"),
        "time": time.time(),
    }
    with _record_lock, open(os.path.join(state, "invocations.jsonl"), "a") as out:
        out.write(json.dumps(line) + "\n")


def _is_error(headers, answer):
    if any(k.lower() == "x-amz-function-error" for k in headers):
        return True
    try:
        parsed = json.loads(answer)
    except ValueError:
        return False
    return isinstance(parsed, dict) and "errorType" in parsed and "errorMessage" in parsed


def _summary(answer):
    try:
        parsed = json.loads(answer)
        return f"{parsed.get('errorType')}: {parsed.get('errorMessage')}"[:2000]
    except ValueError:
        return answer[:500].decode("utf-8", "replace")


_original_rotate = SecretsManagerBackend.rotate_secret
_original_to_dict = FakeSecret.to_dict


def rotate_secret(
    self,
    secret_id,
    client_request_token=None,
    rotation_lambda_arn=None,
    rotation_rules=None,
    rotate_immediately=True,
):
    secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
    before = set(secret.versions) if secret is not None else set()
    last_rotated = getattr(secret, "last_rotation_date", None)
    if secret is not None and rotation_rules:
        # AWS records the whole of RotationRules; moto only AutomaticallyAfterDays.
        secret.llk_schedule_expression = rotation_rules.get("ScheduleExpression")
        secret.llk_duration = rotation_rules.get("Duration")
    if secret is not None and (rotation_lambda_arn or secret.rotation_lambda_arn):
        # AWS turns rotation on with any schedule; moto only with AutomaticallyAfterDays.
        secret.rotation_enabled = True
    saved = None
    if secret is not None and not rotate_immediately and secret.default_version_id in secret.versions:
        # The configuration test's version copies the current value on AWS; moto copies the value the
        # secret was created with (none, for a secret created empty and written later).
        current = secret.versions[secret.default_version_id]
        saved = (secret.secret_string, secret.secret_binary)
        secret.secret_string = current.get("secret_string")
        secret.secret_binary = current.get("secret_binary")
    # Only a failed step of RotateSecret becomes an error; a direct Invoke reports it in headers.
    _rotating.active = True
    try:
        return _original_rotate(
            self,
            secret_id,
            client_request_token=client_request_token,
            rotation_lambda_arn=rotation_lambda_arn,
            rotation_rules=rotation_rules,
            rotate_immediately=rotate_immediately,
        )
    finally:
        _rotating.active = False
        if saved is not None:
            secret.secret_string, secret.secret_binary = saved
        if secret is not None and not rotate_immediately and not _KEEP_TEST_PENDING:
            # AWS: "the test creates an AWSPENDING version of the secret and then removes it";
            # moto leaves the label on the copy of the current value it tested. Nothing was
            # rotated either, so LastRotatedDate stays what it was (moto sets it).
            for version_id, version in secret.versions.items():
                if version_id not in before and "AWSPENDING" in version["version_stages"]:
                    version["version_stages"].remove("AWSPENDING")
            secret.last_rotation_date = last_rotated


def to_dict(self):
    dct = _original_to_dict(self)
    rules = dct.get("RotationRules")
    if rules is not None:
        expression = getattr(self, "llk_schedule_expression", None)
        duration = getattr(self, "llk_duration", None)
        if expression:
            rules["ScheduleExpression"] = expression
        if duration:
            rules["Duration"] = duration
        if rules.get("AutomaticallyAfterDays") == 0:
            del rules["AutomaticallyAfterDays"]
        if dct.get("LastRotatedDate") is None:
            dct.pop("LastRotatedDate", None)
    return dct


LambdaSimpleBackend.invoke = invoke
SecretsManagerBackend.rotate_secret = rotate_secret
FakeSecret.to_dict = to_dict


def _cleanup():
    for runtime in list(_runtimes.values()):
        for instance in runtime.instances:
            instance.stop()
    shutil.rmtree(_work, ignore_errors=True)


if __name__ == "__main__":
    if not os.environ.get("LLAMACLOUD_KEYS_RIE"):
        sys.stderr.write("LLAMACLOUD_KEYS_RIE must name the aws-lambda-rie binary (run `npm run setup`)\n")
        sys.exit(2)
    import atexit
    import signal

    atexit.register(_cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _log(f"moto with lambda.use_docker=false; invoke runs functions under {os.environ['LLAMACLOUD_KEYS_RIE']}")
    moto_main(sys.argv[1:])
