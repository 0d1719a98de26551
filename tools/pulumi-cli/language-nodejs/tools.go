//go:build tools

// Package tools pins the Node language host. It lives in sdk/v3 up to v3.68.0; later releases
// moved it to its own module, which the module proxy reachable here does not serve (see README).
package tools

import (
	_ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
)
