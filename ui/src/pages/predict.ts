// Test prediction: a V1 request sent through the API's prediction proxy, with the same call as
// curl and as SDK code (the key is not printed: the snippets read it from the environment).
import { ApiError, enc } from "../api";
import type { Ctx } from "../context";
import { errorText, field, h } from "../dom";
import type { DeploymentOut, ModelVersionOut } from "../types";

export function curlSnippet(endpoint: string, body: string): string {
  const compact = JSON.stringify(JSON.parse(body));
  return `curl -s -X POST '${endpoint}' \\\n  -H "Authorization: ApiKey $SHIPYARD_API_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '${compact.replace(/'/g, "'\\''")}'`;
}

export function sdkSnippet(host: string, name: string, body: string): string {
  const parsed = JSON.parse(body) as { instances?: unknown; inputs?: unknown };
  const data = JSON.stringify(parsed.instances ?? parsed.inputs ?? parsed);
  return `import os\nimport shipyard\n\nproject = shipyard.login(host="${host}", api_key=os.environ["SHIPYARD_API_KEY"])\ndeployment = project.get_model_serving().get_deployment("${name}")\nprint(deployment.predict(inputs=${data}))`;
}

export function predictionPanel(ctx: Ctx, name: string): HTMLElement {
  const body = h("textarea", { name: "predict-body", rows: 5, spellcheck: "false" }, '{"instances": [[6.8, 2.8, 4.8, 1.4]]}');
  const answer = h("pre", { class: "answer", "aria-live": "polite", "aria-label": "Answer" });
  const curl = h("pre", { class: "snippet", "aria-label": "curl" });
  const sdk = h("pre", { class: "snippet", "aria-label": "Python SDK" });
  let endpoint = "";
  const snippets = () => {
    try {
      curl.textContent = curlSnippet(endpoint, body.value);
      sdk.textContent = sdkSnippet(location.origin, name, body.value);
    } catch {
      curl.textContent = sdk.textContent = "(the body is not valid JSON)";
    }
  };
  body.addEventListener("input", snippets);
  void (async () => {
    try {
      const d = await ctx.api.get<DeploymentOut>(`/deployments/${enc(name)}`);
      endpoint = d.endpoints.v1 ?? "";
      const v = await ctx.api.get<ModelVersionOut>(`/models/${enc(d.spec.predictor.model_name)}/versions/${d.spec.predictor.model_version}`);
      if (v.input_example !== null && v.input_example !== undefined) body.value = JSON.stringify({ instances: v.input_example });
    } catch {
      /* keep the default body */
    }
    snippets();
  })();
  const send = h("button", { type: "button", class: "primary", onclick: async () => {
    answer.textContent = "…";
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.value);
    } catch (err) {
      answer.textContent = `The body is not valid JSON: ${errorText(err)}`;
      return;
    }
    try {
      const result = await ctx.api.post(`/deployments/${enc(name)}/predict`, parsed);
      answer.textContent = JSON.stringify(result, null, 1);
    } catch (err) {
      answer.textContent = err instanceof ApiError ? `${err.status}: ${err.message}` : errorText(err);
    }
  } }, "Send");
  return h("div", { class: "predict" }, field("V1 request body (JSON)", body), send, answer,
    h("h3", {}, "curl"), curl, h("h3", {}, "Python SDK"), sdk);
}
