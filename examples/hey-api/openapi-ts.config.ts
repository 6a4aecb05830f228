// Read by openapi-ts in target/clients/hey-api/, where `generate` copies it:
// the SDK functions, their types and the fetch client, from the repository's
// openapi.yaml. tsconfig.json beside it (NodeNext) makes the generated
// imports end in `.js`, as Node's ES modules need.
import { defineConfig } from "@hey-api/openapi-ts";

export default defineConfig({
  input: "../../../openapi.yaml",
  output: "generated",
  plugins: ["@hey-api/client-fetch", "@hey-api/typescript", "@hey-api/sdk"],
});
