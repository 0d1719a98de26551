// Imported first by `llamacloud-keys/provider`, before any module that imports `@pulumi/pulumi`: a
// program without it gets one error naming the package and range, not MODULE_NOT_FOUND from
// dist/provider/api-key.js.
import { requirePeer } from "./peers";

requirePeer("@pulumi/pulumi", "llamacloud-keys/provider");
