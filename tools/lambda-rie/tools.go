//go:build tools

// Package tools pins the AWS Lambda Runtime Interface Emulator so `go build` can produce it from the
// module proxy, for the local native-rotation engine (tools/moto/).
package tools

import (
	_ "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
)
