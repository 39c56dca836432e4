// cpuocr Web UI: choose / drop / paste images and documents (PDF, multi-page TIFF), recognise them
// through POST /ocr, show boxes over each image (each page of a document, with thumbnails and page
// navigation) beside its lines, copy and export results, preview the preprocessing stages.
// Plain JavaScript, no dependencies, nothing loaded from other sites.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PARALLEL = 2; // requests in flight at once: one uploading while the server works
  const MAX_RETRIES = 3; // for 503 + Retry-After

  const STAGE_LABELS = {
    original: "原图 / Original",
    gray: "灰度 / Gray",
    equalized: "直方图均衡 / Equalized",
    binarized: "自适应二值化 / Binarized",
    resized: "缩放到行高 / Resized to line height",
  };
  const STATUS_LABELS = {
    pending: "待识别 / Pending",
    working: "识别中… / Recognising…",
    done: "完成 / Done",
    error: "已拒绝 / Rejected",
  };

  const NO_PREVIEW = "无法预览 / No preview";
  const PAGES_LATER = "识别后逐页显示 / Pages appear after recognition";

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  const els = {
    dropzone: $("#dropzone"),
    fileInput: $("#file-input"),
    start: $("#start-btn"),
    clear: $("#clear-btn"),
    results: $("#results"),
    empty: $("#empty"),
    template: $("#card-template"),
    bulk: $("#bulk"),
    summary: $("#summary"),
    det: $("#opt-det"),
    preprocess: $("#opt-preprocess"),
    apiKeyField: $("#apikey-field"),
    apiKey: $("#opt-apikey"),
    status: $("#server-status"),
    dialog: $("#preview-dialog"),
    stages: $("#preview-stages"),
    previewCaption: $("#preview-caption"),
    toast: $("#toast"),
  };

  // A document item (PDF / TIFF) also has `doc: true`, `page` (the index of the page shown) and
  // `pageUrls` (a blob: URL of each page's preview image, or null).
  /** @type {Array<{id:number,file:File,name:string,doc:boolean,url:string|null,state:string,result:any,error:any,card:HTMLElement,page:number,pageUrls:Array<string|null>}>} */
  const items = [];
  let nextId = 1;
  let pasteCount = 0;
  let running = false;

  // ---------------------------------------------------------------- server status

  async function checkServer() {
    try {
      const res = await fetch("/readyz", { cache: "no-store" });
      const info = await res.json();
      if (res.ok && info.ready) {
        // Without the API key (when one is set) /readyz tells only that the service is ready.
        const detail = info.preset ? ` · ${info.preset} · ${info.slots}×${info.threads}` : "";
        setPill("pill-ok", `就绪 / Ready${detail}`);
        els.status.title = info.preset
          ? `slots ${info.slots}, threads ${info.threads}, queue ${info.queue_size}`
          : "";
      } else {
        setPill("pill-wait", "加载模型… / Loading models…");
        setTimeout(checkServer, 2000);
      }
      if (info.auth_required) {
        els.apiKeyField.hidden = false;
        els.apiKey.value = sessionStorage.getItem("cpuocr-api-key") || "";
      }
    } catch {
      setPill("pill-bad", "无法连接 / Offline");
      setTimeout(checkServer, 4000);
    }
  }

  function setPill(cls, text) {
    els.status.className = `pill ${cls}`;
    els.status.textContent = text;
  }

  // ---------------------------------------------------------------- adding files

  function addFiles(fileList) {
    const files = Array.from(fileList || []);
    for (const file of files) {
      const item = {
        id: nextId++,
        file,
        name: file.name || `image-${nextId}`,
        doc: isDocumentFile(file),
        url: file.type.startsWith("image/") || file.type === "" ? URL.createObjectURL(file) : null,
        state: "pending",
        result: null,
        error: null,
        card: null,
        page: 0,
        pageUrls: [],
      };
      item.card = buildCard(item);
      items.push(item);
      els.results.appendChild(item.card);
    }
    if (files.length) {
      toast(`已添加 ${files.length} 个文件 / Added ${files.length} file${files.length > 1 ? "s" : ""}`);
    }
    refresh();
  }

  /** A PDF or TIFF: sent with preview=true and, when the server reads it as pages, shown page by page. */
  function isDocumentFile(file) {
    return (
      file.type === "application/pdf" || file.type === "image/tiff" || /\.(pdf|tiff?)$/i.test(file.name || "")
    );
  }

  /** A document answer (per page) rather than an image's. */
  function isDocument(result) {
    return Boolean(result) && Array.isArray(result.pages);
  }

  /** What the card shows: the image's answer, or the selected page of a document's. */
  function view(item) {
    return isDocument(item.result) ? item.result.pages[item.page] : item.result;
  }

  function buildCard(item) {
    const card = els.template.content.firstElementChild.cloneNode(true);
    card.dataset.id = String(item.id);
    $(".file-name", card).textContent = item.name;
    $(".file-name", card).title = item.name;
    $(".file-meta", card).textContent = `${formatBytes(item.file.size)}${item.file.type ? " · " + item.file.type : ""}`;
    const img = $(".image", card);
    if (item.doc) {
      $(".no-preview", card).textContent = PAGES_LATER;
      $("[data-action='preview']", card).hidden = true; // the stages are of one image
    }
    if (item.url) {
      img.src = item.url;
      img.alt = item.name;
      img.addEventListener("error", () => showNoPreview(card));
    } else {
      showNoPreview(card);
    }
    setState(item, "pending", card);

    card.addEventListener("click", (event) => onCardClick(item, event));
    card.addEventListener("mouseover", (event) => onHover(item, event, true));
    card.addEventListener("mouseout", (event) => onHover(item, event, false));
    card.addEventListener("keydown", (event) => onCardKey(item, event));
    return card;
  }

  function showNoPreview(card) {
    $(".image-wrap", card).hidden = true;
    $(".no-preview", card).hidden = false;
  }

  function showImage(card, url, alt) {
    const img = $(".image", card);
    img.src = url;
    img.alt = alt;
    $(".image-wrap", card).hidden = false;
    $(".no-preview", card).hidden = true;
  }

  function setState(item, state, card = item.card) {
    item.state = state;
    card.dataset.state = state;
    $(".status", card).textContent = STATUS_LABELS[state];
    const done = state === "done";
    const buttons = $$("[data-export], [data-action='copy-all'], [data-action='copy-page']", card);
    for (const button of buttons) button.disabled = !done;
  }

  // ---------------------------------------------------------------- recognition

  async function startAll() {
    if (running) return;
    const todo = items.filter((it) => it.state === "pending" || it.state === "error");
    if (!todo.length) {
      toast("没有待识别的图片 / Nothing to recognise");
      return;
    }
    running = true;
    refresh();
    const queue = todo.slice();
    const worker = async () => {
      while (queue.length) {
        const item = queue.shift();
        if (items.includes(item)) await recognise(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));
    running = false;
    refresh();
    const failed = todo.filter((it) => it.state === "error").length;
    toast(failed ? `完成，${failed} 个失败 / Done, ${failed} failed` : "全部完成 / All done");
  }

  async function recognise(item) {
    setState(item, "working");
    clearResult(item);
    refresh();
    const form = new FormData();
    form.append("image", item.file, item.name);
    form.append("det", els.det.checked ? "true" : "false");
    form.append("preprocess", els.preprocess.value);
    if (item.doc) form.append("preview", "true"); // each page's image comes back with its lines
    const answer = await postWithRetry("/ocr", form, item);
    if (answer.ok) {
      item.result = answer.body;
      item.error = null;
      takePreviews(item);
      setState(item, "done");
      renderResult(item);
    } else {
      item.error = answer;
      setState(item, "error");
      renderError(item);
    }
    refresh();
  }

  async function postWithRetry(url, form, item) {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(url, { method: "POST", body: form, headers: authHeaders() });
      } catch (err) {
        return { ok: false, status: 0, code: "network_error", message: `网络错误 / Network error: ${err.message}` };
      }
      let body = null;
      try {
        body = await res.json();
      } catch {
        body = null;
      }
      if (res.ok && body) return { ok: true, status: res.status, body };
      if (res.status === 503 && attempt < MAX_RETRIES) {
        const wait = Math.min(30, Number(res.headers.get("Retry-After")) || 1);
        if (item) $(".status", item.card).textContent = `服务器繁忙，${wait} 秒后重试 / Busy, retrying in ${wait}s`;
        await sleep(wait * 1000);
        if (item) $(".status", item.card).textContent = STATUS_LABELS.working;
        continue;
      }
      const error = body && body.error ? body.error : {};
      return {
        ok: false,
        status: res.status,
        code: error.code || `http_${res.status}`,
        message: error.message || res.statusText || "unknown error",
      };
    }
  }

  function authHeaders() {
    const key = els.apiKey.value.trim();
    if (!key) return {};
    sessionStorage.setItem("cpuocr-api-key", key);
    return { "X-API-Key": key };
  }

  function clearView(card) {
    $(".lines", card).replaceChildren();
    $(".overlay", card).replaceChildren();
    $(".lines-head", card).replaceChildren();
    const none = $(".no-lines", card);
    if (none) none.remove();
  }

  function clearResult(item) {
    const card = item.card;
    clearView(card);
    const err = $(".error-message", card);
    err.hidden = true;
    err.replaceChildren();
    $(".pages", card).hidden = true;
    $(".thumbs", card).replaceChildren();
    $("[data-action='copy-page']", card).hidden = true;
    releasePages(item);
  }

  /** A document's page images: base64 in the answer, kept as blob: URLs (the base64 dropped). */
  function takePreviews(item) {
    releasePages(item);
    if (!isDocument(item.result)) return;
    item.pageUrls = item.result.pages.map((page) => {
      const preview = page.preview;
      if (!preview || !preview.image) return null;
      const raw = atob(preview.image);
      const bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      delete preview.image;
      return URL.createObjectURL(new Blob([bytes], { type: "image/jpeg" }));
    });
  }

  function releasePages(item) {
    for (const url of item.pageUrls) if (url) URL.revokeObjectURL(url);
    item.pageUrls = [];
  }

  function renderResult(item) {
    const r = item.result;
    if (isDocument(r)) {
      renderPages(item);
      return;
    }
    if (item.doc) $(".no-preview", item.card).textContent = NO_PREVIEW; // a one-page TIFF
    drawLines(item, r);
    const head = $(".lines-head", item.card);
    head.append(
      tag(`${r.lines.length} 行 / lines`),
      tag(`${Math.round(r.time_ms)} ms`),
      tag(`${r.width}×${r.height}`),
    );
    if (r.cached) head.append(tag("缓存 / cached", "tag-cached"));
  }

  /** The boxes over the image (in the answer's pixels: the viewBox) and the list of lines. */
  function drawLines(item, r) {
    const card = item.card;
    const svg = $(".overlay", card);
    svg.setAttribute("viewBox", `0 0 ${r.width} ${r.height}`);
    const list = $(".lines", card);
    r.lines.forEach((line, i) => {
      const poly = document.createElementNS(SVG_NS, "polygon");
      poly.setAttribute("points", line.box.map((p) => `${p[0]},${p[1]}`).join(" "));
      poly.dataset.index = String(i);
      const title = document.createElementNS(SVG_NS, "title");
      title.textContent = line.text;
      poly.appendChild(title);
      svg.appendChild(poly);
      list.appendChild(buildLine(line, i));
    });
    if (!r.lines.length) {
      const p = document.createElement("p");
      p.className = "no-lines";
      p.textContent = "没有找到文字 / No text found";
      list.after(p);
    }
  }

  // ---------------------------------------------------------------- documents: pages

  function renderPages(item) {
    const card = item.card;
    const r = item.result;
    const count = r.pages.length;
    const meta = `${formatBytes(item.file.size)} · 共 ${r.page_count} 页 / ${r.page_count} page${r.page_count === 1 ? "" : "s"}`;
    $(".file-meta", card).textContent =
      count === r.page_count ? meta : `${meta} · 读 ${count} 页 / ${count} read`;
    $(".no-preview", card).textContent = NO_PREVIEW;
    const thumbs = r.pages.map((page, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "thumb";
      button.dataset.action = "page";
      button.dataset.page = String(i);
      button.setAttribute("data-testid", "page-thumb");
      button.setAttribute("aria-label", `第 ${page.page} 页 / Page ${page.page}`);
      button.title = `第 ${page.page} 页 · ${page.lines.length} 行 — Page ${page.page} · ${page.lines.length} lines`;
      const url = item.pageUrls[i];
      if (url) {
        const img = document.createElement("img");
        img.src = url;
        img.alt = "";
        img.loading = "lazy";
        img.decoding = "async";
        if (page.preview) img.style.aspectRatio = `${page.preview.width} / ${page.preview.height}`;
        button.append(img);
      } else {
        const blank = document.createElement("span");
        blank.className = "thumb-blank";
        blank.textContent = "—";
        button.append(blank);
      }
      const number = document.createElement("span");
      number.className = "thumb-num";
      number.textContent = String(page.page);
      button.append(number);
      return button;
    });
    $(".thumbs", card).replaceChildren(...thumbs);
    $(".pages", card).hidden = false;
    $("[data-action='copy-page']", card).hidden = false;
    selectPage(item, 0);
  }

  /** Show page ``index`` (0-based, of the pages read): its image, boxes and lines. */
  function selectPage(item, index, focusThumb = false) {
    const pages = item.result.pages;
    if (!pages.length) return;
    index = Math.max(0, Math.min(pages.length - 1, index));
    item.page = index;
    const page = pages[index];
    const card = item.card;
    clearView(card);
    const url = item.pageUrls[index];
    if (url) showImage(card, url, `${item.name} · 第 ${page.page} 页 / Page ${page.page}`);
    else showNoPreview(card);
    drawLines(item, page);
    const head = $(".lines-head", card);
    head.append(
      tag(`第 ${page.page} 页 / Page ${page.page}`, "tag-page"),
      tag(`${page.lines.length} 行 / lines`),
      tag(`${Math.round(page.time_ms)} ms`),
      tag(`${page.width}×${page.height} · ${Math.round(page.dpi)} dpi`),
    );
    if (page.source === "text_layer") head.append(tag("文字层 / text layer", "tag-cached"));
    if (item.result.cached) head.append(tag("缓存 / cached", "tag-cached"));
    card.dataset.page = String(page.page);
    $(".page-label", card).textContent =
      `第 ${page.page} 页（${index + 1} / ${pages.length}）· Page ${page.page} (${index + 1} of ${pages.length})`;
    $("[data-action='page-prev']", card).disabled = index === 0;
    $("[data-action='page-next']", card).disabled = index === pages.length - 1;
    const strip = $(".thumbs", card);
    for (const thumb of $$(".thumb", strip)) {
      const selected = Number(thumb.dataset.page) === index;
      thumb.classList.toggle("selected", selected);
      if (selected) thumb.setAttribute("aria-current", "page");
      else thumb.removeAttribute("aria-current");
    }
    const current = $(`.thumb[data-page="${index}"]`, strip);
    if (current) {
      // Scroll the strip only (never the page) to keep the selected thumbnail in sight.
      const left = current.offsetLeft;
      if (left < strip.scrollLeft) strip.scrollLeft = left - 8;
      else if (left + current.offsetWidth > strip.scrollLeft + strip.clientWidth) {
        strip.scrollLeft = left + current.offsetWidth - strip.clientWidth + 8;
      }
      if (focusThumb) current.focus({ preventScroll: true });
    }
  }

  function onCardKey(item, event) {
    if (!isDocument(item.result) || !event.target.closest(".pages")) return;
    const step = { ArrowLeft: -1, ArrowRight: 1, PageUp: -1, PageDown: 1 }[event.key];
    const jump = { Home: 0, End: item.result.pages.length - 1 }[event.key];
    if (step === undefined && jump === undefined) return;
    event.preventDefault();
    const onThumb = Boolean(event.target.closest(".thumb"));
    selectPage(item, jump !== undefined ? jump : item.page + step, onThumb);
  }

  function buildLine(line, i) {
    const li = document.createElement("li");
    li.className = "line";
    li.dataset.index = String(i);
    li.setAttribute("data-testid", "line");
    li.tabIndex = 0;
    const idx = document.createElement("span");
    idx.className = "idx";
    idx.textContent = String(i + 1);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = line.text;
    const conf = document.createElement("span");
    conf.className = "conf";
    conf.title = "置信度 / Confidence";
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("i");
    fill.style.width = `${Math.round(line.score * 100)}%`;
    if (line.score < 0.6) fill.className = "low";
    else if (line.score < 0.85) fill.className = "mid";
    bar.appendChild(fill);
    const pct = document.createElement("span");
    pct.className = "score";
    pct.textContent = `${(line.score * 100).toFixed(1)}%`;
    conf.append(bar, pct);
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "btn btn-small copy";
    copy.dataset.action = "copy-line";
    copy.textContent = "复制 / Copy";
    li.append(idx, text, conf, copy);
    return li;
  }

  function renderError(item) {
    const e = item.error;
    const box = $(".error-message", item.card);
    const title = document.createElement("strong");
    title.textContent = "无法识别此文件 / This file was rejected";
    const msg = document.createElement("span");
    msg.textContent = e.message;
    const code = document.createElement("code");
    code.textContent = ` (HTTP ${e.status || "—"} · ${e.code})`;
    box.replaceChildren(title, msg, code);
    box.hidden = false;
  }

  // ---------------------------------------------------------------- interaction

  function onCardClick(item, event) {
    const target = event.target;
    const actionEl = target.closest("[data-action], [data-export]");
    if (actionEl) {
      const action = actionEl.dataset.action;
      if (actionEl.dataset.export) exportItems([item], actionEl.dataset.export);
      else if (action === "copy-all") copyText(allText([item]), "已复制全部 / Copied all lines");
      else if (action === "copy-page") copyText(view(item).text.join("\n"), "已复制本页 / Copied this page");
      else if (action === "page") selectPage(item, Number(actionEl.dataset.page));
      else if (action === "page-prev") selectPage(item, item.page - 1);
      else if (action === "page-next") selectPage(item, item.page + 1);
      else if (actionEl.dataset.action === "remove") removeItem(item);
      else if (actionEl.dataset.action === "preview") openPreview(item);
      else if (actionEl.dataset.action === "copy-line") {
        const li = actionEl.closest(".line");
        const line = view(item).lines[Number(li.dataset.index)];
        copyText(line.text, "已复制 / Copied");
        setActive(item, Number(li.dataset.index));
      }
      return;
    }
    const hit = target.closest(".line, polygon");
    if (hit && hit.dataset.index !== undefined) setActive(item, Number(hit.dataset.index), hit.tagName !== "LI");
  }

  function onHover(item, event, on) {
    const hit = event.target.closest(".line, polygon");
    if (!hit || hit.dataset.index === undefined) return;
    for (const el of $$(`[data-index="${hit.dataset.index}"]`, item.card)) el.classList.toggle("hover", on);
  }

  function setActive(item, index, scrollLine = false) {
    const card = item.card;
    const already = $(`.line.active[data-index="${index}"]`, card);
    for (const el of $$(".active", card)) el.classList.remove("active");
    if (already) return; // a second click clears the highlight
    for (const el of $$(`[data-index="${index}"]`, card)) el.classList.add("active");
    const li = $(`.line[data-index="${index}"]`, card);
    if (scrollLine && li) li.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function removeItem(item) {
    const i = items.indexOf(item);
    if (i >= 0) items.splice(i, 1);
    if (item.url) URL.revokeObjectURL(item.url);
    releasePages(item);
    item.card.remove();
    refresh();
  }

  function clearAll() {
    for (const item of items.slice()) removeItem(item);
  }

  function refresh() {
    const n = items.length;
    const done = items.filter((it) => it.state === "done").length;
    const failed = items.filter((it) => it.state === "error").length;
    const waiting = items.filter((it) => it.state === "pending").length;
    els.empty.hidden = n > 0;
    els.bulk.hidden = n === 0;
    els.start.disabled = running || (waiting === 0 && failed === 0);
    els.clear.disabled = running || n === 0;
    const files = items.some((it) => it.doc)
      ? [`${n} 个文件`, `${n} file${n === 1 ? "" : "s"}`]
      : [`${n} 张图片`, `${n} image${n === 1 ? "" : "s"}`];
    els.summary.textContent = `${files[0]} · ${done} 完成 · ${failed} 失败 — ${files[1]} · ${done} done · ${failed} failed`;
    for (const b of $$("[data-export-all], #copy-everything")) b.disabled = done === 0;
  }

  // ---------------------------------------------------------------- copy & export

  /** The pages of a result: a document's, or an image's answer as its one page (page null). */
  function pagesOf(result) {
    return isDocument(result) ? result.pages : [{ ...result, page: null }];
  }

  function itemText(it) {
    if (!isDocument(it.result)) return it.result.text.join("\n");
    return it.result.pages
      .map((p) => `--- 第 ${p.page} 页 / Page ${p.page} ---\n${p.text.join("\n")}`)
      .join("\n\n");
  }

  function allText(list) {
    const ready = list.filter((it) => it.result);
    if (ready.length === 1) return itemText(ready[0]);
    return ready.map((it) => `=== ${it.name} ===\n${itemText(it)}`).join("\n\n");
  }

  const EXPORTERS = {
    txt: { mime: "text/plain;charset=utf-8", ext: "txt", build: (list) => allText(list) + "\n" },
    json: {
      mime: "application/json",
      ext: "json",
      build: (list) => {
        const out = list.map((it) => ({ file: it.name, ...it.result }));
        return JSON.stringify(out.length === 1 ? out[0] : out, null, 2) + "\n";
      },
    },
    csv: {
      mime: "text/csv;charset=utf-8",
      ext: "csv",
      build: (list) => {
        const rows = [["file", "line", "text", "score", "x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4"]];
        const paged = list.some((it) => isDocument(it.result));
        if (paged) rows[0].push("page"); // boxes are in that page's pixels
        for (const it of list) {
          for (const page of pagesOf(it.result)) {
            page.lines.forEach((l, i) => {
              const row = [it.name, i + 1, l.text, l.score, ...l.box.flat()];
              if (paged) row.push(page.page === null ? "" : page.page);
              rows.push(row);
            });
          }
        }
        // The BOM makes spreadsheet programs read the Chinese text as UTF-8.
        return "\ufeff" + rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
      },
    },
    md: {
      mime: "text/markdown;charset=utf-8",
      ext: "md",
      build: (list) =>
        list
          .map((it) => {
            const sections = pagesOf(it.result).map((page) => {
              const rows = page.lines.map(
                (l, i) => `| ${i + 1} | ${mdCell(l.text)} | ${l.score.toFixed(3)} |`,
              );
              return [
                ...(page.page === null ? [] : [`### 第 ${page.page} 页 / Page ${page.page}`, ""]),
                `${page.width}×${page.height} px · ${page.lines.length} lines`,
                "",
                "| # | 文本 / Text | 置信度 / Confidence |",
                "|---:|---|---:|",
                ...rows,
                "",
              ].join("\n");
            });
            return [`## ${mdCell(it.name)}`, "", ...sections].join("\n");
          })
          .join("\n"),
    },
  };

  function exportItems(list, format) {
    const ready = list.filter((it) => it.result);
    if (!ready.length) return;
    const exporter = EXPORTERS[format];
    const base = ready.length === 1 ? ready[0].name.replace(/\.[^.]+$/, "") : "cpuocr-results";
    const blob = new Blob([exporter.build(ready)], { type: exporter.mime });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `${base}.${exporter.ext}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function csvCell(value) {
    const s = String(value);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function mdCell(value) {
    return String(value).replace(/\|/g, "\\|").replace(/\n/g, " ");
  }

  async function copyText(text, message) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API needs a secure context (https or localhost); fall back for plain http.
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    toast(message);
  }

  // ---------------------------------------------------------------- preprocessing preview

  async function openPreview(item) {
    els.previewCaption.textContent = `${item.name} — 经典流程每一步的结果 · What each stage of the classic recipe produces`;
    const loading = document.createElement("p");
    loading.className = "loading";
    loading.textContent = "生成中… / Rendering stages…";
    els.stages.replaceChildren(loading);
    if (!els.dialog.open) els.dialog.showModal();
    const form = new FormData();
    form.append("image", item.file, item.name);
    const answer = await postWithRetry("/preprocess", form, null);
    if (!answer.ok) {
      const p = document.createElement("p");
      p.className = "error-message";
      p.setAttribute("data-testid", "preview-error");
      p.textContent = `${answer.message} (HTTP ${answer.status} · ${answer.code})`;
      els.stages.replaceChildren(p);
      return;
    }
    const figures = answer.body.stages.map((stage) => {
      const fig = document.createElement("figure");
      fig.className = "stage";
      fig.dataset.stage = stage.name;
      const img = document.createElement("img");
      img.src = `data:image/png;base64,${stage.image}`;
      img.alt = STAGE_LABELS[stage.name] || stage.name;
      const cap = document.createElement("figcaption");
      const name = document.createElement("strong");
      name.textContent = STAGE_LABELS[stage.name] || stage.name;
      const size = document.createElement("span");
      size.textContent = `${stage.width}×${stage.height}`;
      cap.append(name, size);
      fig.append(img, cap);
      return fig;
    });
    els.stages.replaceChildren(...figures);
  }

  // ---------------------------------------------------------------- helpers

  function tag(text, extra = "") {
    const span = document.createElement("span");
    span.className = `tag ${extra}`.trim();
    span.textContent = text;
    return span;
  }

  function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  let toastTimer = 0;
  function toast(message) {
    els.toast.textContent = message;
    els.toast.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => els.toast.classList.remove("show"), 2200);
  }

  // ---------------------------------------------------------------- wiring

  els.dropzone.addEventListener("click", () => els.fileInput.click());
  els.dropzone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      els.fileInput.click();
    }
  });
  els.fileInput.addEventListener("change", () => {
    addFiles(els.fileInput.files);
    els.fileInput.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    window.addEventListener(type, (e) => {
      e.preventDefault();
      els.dropzone.classList.add("dragging");
    });
  }
  window.addEventListener("dragleave", (e) => {
    if (!e.relatedTarget) els.dropzone.classList.remove("dragging");
  });
  window.addEventListener("drop", (e) => {
    e.preventDefault(); // dropping anywhere on the page adds the files instead of opening them
    els.dropzone.classList.remove("dragging");
    addFiles(e.dataTransfer && e.dataTransfer.files);
  });
  window.addEventListener("paste", (e) => {
    const files = [];
    for (const entry of (e.clipboardData && e.clipboardData.items) || []) {
      if (entry.kind !== "file") continue;
      const blob = entry.getAsFile();
      if (!blob) continue;
      pasteCount += 1;
      const ext = (blob.type.split("/")[1] || "png").replace("jpeg", "jpg");
      files.push(new File([blob], `pasted-${pasteCount}.${ext}`, { type: blob.type }));
    }
    if (files.length) {
      e.preventDefault();
      addFiles(files);
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) startAll();
  });
  els.start.addEventListener("click", startAll);
  els.clear.addEventListener("click", clearAll);
  for (const button of $$("[data-export-all]")) {
    button.addEventListener("click", () => exportItems(items, button.dataset.exportAll));
  }
  $("#copy-everything").addEventListener("click", () =>
    copyText(allText(items), "已复制全部 / Copied all lines"),
  );
  $("#preview-close").addEventListener("click", () => els.dialog.close());
  els.dialog.addEventListener("click", (e) => {
    if (e.target === els.dialog) els.dialog.close(); // a click on the backdrop
  });

  // For tests and power users: the state, read-only.
  window.cpuocr = { items, addFiles, startAll };

  refresh();
  checkServer();
})();
