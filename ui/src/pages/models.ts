// Models: the registry's models, each model's versions (files, metrics), and uploading a
// folder (packed as a gzip tar in the browser) or an archive as a new version.
import { enc } from "../api";
import type { Ctx } from "../context";
import { clear, errorText, field, h } from "../dom";
import { ago, bytes } from "../format";
import { href } from "../routes";
import { gzip, relativePath, tar } from "../tar";
import type { ModelSummaryOut, ModelVersionOut } from "../types";

const FRAMEWORKS = ["python", "sklearn", "xgboost", "lightgbm"];

function uploadForm(ctx: Ctx, fixedName: string | null, done: (v: ModelVersionOut) => void): HTMLElement {
  const name = h("input", { name: "model-name", type: "text", required: true, autocomplete: "off", value: fixedName ?? "" });
  if (fixedName) name.readOnly = true;
  const framework = h("select", { name: "model-framework" }, FRAMEWORKS.map((f) => h("option", { value: f }, f)));
  const folder = h("input", { name: "model-folder", type: "file", webkitdirectory: true, multiple: true });
  const archive = h("input", { name: "model-archive", type: "file", accept: ".tar.gz,.tgz,application/gzip" });
  const status = h("p", { role: "status", class: "hint" });
  const form = h("form", { class: "upload", "aria-label": "Upload a new version" },
    h("h2", {}, fixedName ? "Upload a new version" : "Upload a model"),
    field("Model name", name, "Letters, digits, '_' and '-'."),
    field("Framework", framework, "How the files are loaded when there is no predictor script."),
    field("Folder", folder, "Every file of the folder, packed in the browser."),
    field("…or an archive (.tar.gz)", archive),
    h("button", { type: "submit", class: "primary" }, "Upload"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let artifact: Blob;
    try {
      if (archive.files?.length) {
        artifact = archive.files[0];
      } else if (folder.files?.length) {
        status.textContent = "Packing the folder…";
        const files = await Promise.all([...folder.files].map(async (f) => ({ path: relativePath(f.webkitRelativePath || f.name), data: new Uint8Array(await f.arrayBuffer()) })));
        artifact = await gzip(tar(files, Math.floor(Date.now() / 1000)));
      } else {
        status.textContent = "Choose a folder or an archive.";
        return;
      }
      const data = new FormData();
      data.append("artifact", artifact, "model.tar.gz");
      data.append("metadata", JSON.stringify({ framework: framework.value }));
      status.textContent = "Uploading…";
      const version = await ctx.api.post<ModelVersionOut>(`/models/${enc(name.value.trim())}/versions`, data);
      status.textContent = `Uploaded ${version.name} v${version.version} (${version.files.length} files).`;
      done(version);
    } catch (err) {
      status.textContent = `Upload failed: ${errorText(err)}`;
    }
  });
  return form;
}

export async function modelsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const list = h("div", { class: "table-wrap" }, "Loading…");
  clear(main, h("header", { class: "page-head" }, h("h1", {}, "Models")), h("section", { class: "card" }, list),
    h("section", { class: "card" }, uploadForm(ctx, null, (v) => ctx.go({ page: "model", name: v.name }))));
  try {
    const models = await ctx.api.get<ModelSummaryOut[]>("/models");
    clear(list, models.length ? h("table", { class: "list", "aria-label": "Models" },
      h("thead", {}, h("tr", {}, ["Model", "Latest version", "Versions", "Created"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, models.map((m) => h("tr", { "data-model": m.name },
        h("td", {}, h("a", { href: href({ page: "model", name: m.name }) }, m.name)), h("td", {}, `v${m.latest_version}`),
        h("td", {}, String(m.versions)), h("td", {}, ago(m.created_at, Date.now())))))) : h("p", {}, "No models yet: upload one below."));
  } catch (err) {
    clear(list, h("p", { class: "error" }, errorText(err)));
  }
}

export async function modelPage(ctx: Ctx, main: HTMLElement, name: string): Promise<void> {
  const list = h("div", {}, "Loading…");
  clear(main, h("header", { class: "page-head" }, h("h1", {}, h("a", { href: href({ page: "models" }) }, "Models"), ` / ${name}`),
    h("a", { class: "button primary", href: href({ page: "new-deployment" }) }, "Create new deployment")),
    h("section", { class: "card" }, h("h2", {}, "Versions"), list),
    h("section", { class: "card" }, uploadForm(ctx, name, () => void load())));
  async function load() {
    try {
      const versions = await ctx.api.get<ModelVersionOut[]>(`/models/${enc(name)}/versions`);
      clear(list, ...[...versions].reverse().map((v) => h("article", { class: "version", "data-version": v.version },
        h("h3", {}, `v${v.version} · ${v.framework} · ${bytes(v.size_bytes)} · ${ago(v.created_at, Date.now())}`),
        v.description ? h("p", {}, v.description) : "",
        Object.keys(v.metrics ?? {}).length ? h("p", {}, "Metrics: ", Object.entries(v.metrics).map(([k, m]) => `${k} = ${m}`).join(", ")) : "",
        h("details", {}, h("summary", {}, `${v.files.length} file(s)`), h("ul", { class: "files" }, v.files.map((f) => h("li", {}, f)))),
        h("p", { class: "hint" }, `sha256 ${v.checksum.slice(0, 16)}…`))));
    } catch (err) {
      clear(list, h("p", { class: "error" }, errorText(err)));
    }
  }
  await load();
}
