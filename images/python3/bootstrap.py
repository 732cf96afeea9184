"""Hearth's Lambda Runtime API loop for Python (handler "module.function")."""
import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

API = "http://%s/2018-06-01/runtime" % os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")


def call(method, path, body=None, headers=None):
    req = urllib.request.Request(API + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as resp:  # /next is a long poll: no timeout on purpose
        return resp.read(), resp.headers


def error_body(exc, error_type=None):
    return json.dumps({
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }).encode()


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        client_context = headers.get("Lambda-Runtime-Client-Context")
        identity = headers.get("Lambda-Runtime-Cognito-Identity")
        self.client_context = json.loads(client_context) if client_context else None
        self.identity = json.loads(identity) if identity else None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def load_handler():
    handler = os.environ.get("_HANDLER", "")
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise ValueError("Bad handler '%s': expected module.function" % handler)
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:
        raise ImportError("Unable to import module '%s': %s" % (module_name, exc)) from exc
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise AttributeError("Handler '%s' missing on module '%s'" % (function_name, module_name)) from None


def main():
    try:
        handler = load_handler()
    except ImportError as exc:
        call("POST", "/init/error", error_body(exc, "Runtime.ImportModuleError"),
             {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        sys.exit(1)
    except Exception as exc:
        call("POST", "/init/error", error_body(exc, "Runtime.HandlerNotFound"),
             {"Lambda-Runtime-Function-Error-Type": "Runtime.HandlerNotFound"})
        sys.exit(1)
    while True:
        body, headers = call("GET", "/invocation/next")
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        try:
            event = json.loads(body) if body else None
            result = handler(event, Context(headers))
            call("POST", "/invocation/%s/response" % request_id, json.dumps(result).encode())
        except Exception as exc:
            traceback.print_exc()
            call("POST", "/invocation/%s/error" % request_id, error_body(exc),
                 {"Lambda-Runtime-Function-Error-Type": "Unhandled"})


if __name__ == "__main__":
    main()
