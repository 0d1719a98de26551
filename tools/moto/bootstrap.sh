#!/bin/sh
# The runtime the local native-rotation engine (native_engine.py) gives aws-lambda-rie: the official
# Node runtime interface client on the function's handler, as Lambda's nodejs runtime does.
# exec keeps this pid, so the pid written here is the runtime's (tests kill it mid-call).
if [ -n "$LLAMACLOUD_KEYS_LAMBDA_STATE" ]; then
  echo "$$" > "$LLAMACLOUD_KEYS_LAMBDA_STATE/$$.pid"
fi
cd "$LAMBDA_TASK_ROOT" || exit 1
exec "$LLAMACLOUD_KEYS_LAMBDA_NODE_BIN" "$LLAMACLOUD_KEYS_LAMBDA_RIC_ENTRY" "$_HANDLER"
