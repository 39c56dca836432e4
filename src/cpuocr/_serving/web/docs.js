// Renders /openapi.json as a readable page, without Swagger UI's CDN scripts.
"use strict";

(async () => {
  const root = document.getElementById("endpoints");
  const host = window.location.origin;
  document.getElementById("curl-example").textContent =
    `curl -F image=@receipt.jpg ${host}/ocr\n` +
    `curl -F image=@a.png -F image=@b.png ${host}/ocr/batch\n` +
    `curl -H 'Content-Type: application/json' -d '{"image": "<base64>"}' ${host}/ocr`;
  let spec;
  try {
    const res = await fetch("/openapi.json");
    spec = await res.json();
  } catch (err) {
    root.textContent = `Cannot load /openapi.json: ${err.message}`;
    return;
  }
  document.getElementById("api-title").textContent = `${spec.info.title} ${spec.info.version}`;

  const resolve = (schema) => {
    // Inline $refs one level deep so each schema reads on its own.
    if (schema && schema.$ref) {
      const name = schema.$ref.split("/").pop();
      return (spec.components && spec.components.schemas && spec.components.schemas[name]) || schema;
    }
    return schema;
  };
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  function withCode(text) {
    // `code` spans of the OpenAPI descriptions, without an HTML parser (no innerHTML).
    return text.split("`").map((part, i) => (i % 2 ? el("code", "", part) : document.createTextNode(part)));
  }

  document.getElementById("api-description").replaceChildren(...withCode(spec.info.description || ""));

  const blocks = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const details = el("details", "panel endpoint");
      details.dataset.path = path;
      const summary = el("summary");
      summary.append(
        el("span", `method method-${method}`, method.toUpperCase()),
        el("span", "path", path),
        el("span", "muted", op.summary || ""),
      );
      const body = el("div", "body");
      if (op.description) {
        const p = el("p");
        p.append(...withCode(op.description));
        body.append(p);
      }
      const content = op.requestBody && op.requestBody.content;
      if (content) {
        for (const [type, media] of Object.entries(content)) {
          body.append(el("h3", "", `请求 / Request · ${type}`));
          body.append(el("pre", "", JSON.stringify(resolve(media.schema), null, 2)));
        }
      }
      body.append(el("h3", "", "响应 / Responses"));
      const codes = el("div", "responses");
      for (const [code, response] of Object.entries(op.responses || {})) {
        const chip = el("span", `tag code-${code[0]}`, `${code} ${response.description || ""}`);
        codes.append(chip);
      }
      body.append(codes);
      const ok = op.responses && op.responses["200"];
      const okSchema = ok && ok.content && ok.content["application/json"];
      if (okSchema && okSchema.schema) {
        body.append(el("h3", "", "200 JSON"));
        body.append(el("pre", "", JSON.stringify(resolve(okSchema.schema), null, 2)));
      }
      details.append(summary, body);
      blocks.push(details);
    }
  }
  if (blocks.length) blocks[0].open = true;
  root.replaceChildren(...blocks);
})();
