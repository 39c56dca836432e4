// cpuocr Web UI: choose / drop / paste images and documents (PDF, multi-page TIFF), recognise them,
// show boxes over each image (each page of a document, with thumbnails and page navigation) beside
// its lines, copy and export results, preview the preprocessing stages. Images go through POST /ocr
// (one quick request each); documents through the durable jobs API (POST /jobs, polled for
// per-page progress, cancellable, the result and each page's image fetched when done, and every
// output format downloaded from the server).
// Plain JavaScript, no dependencies, nothing loaded from other sites.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PARALLEL = 2; // requests in flight at once: one uploading while the server works
  const MAX_RETRIES = 3; // for 503 + Retry-After
  // A job is polled quickly while its pages come in, less often while nothing changes, and with a
  // longer backoff while the server cannot be reached (the job goes on without us).
  const POLL_FIRST_MS = 300;
  const POLL_MAX_MS = 2000;
  const POLL_OFFLINE_MAX_MS = 10000;
  // Page images fetched before a finished document is shown; the others as their thumbnails come
  // into view (a long document's images are never all fetched at once).
  const PREFETCH_PAGES = 8;
  const PREVIEW_FETCHES = 3; // page images fetched at once

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
    cancelled: "已取消 / Cancelled",
  };
  const JOB_LABELS = {
    submitting: "提交中… / Submitting…",
    queued: "排队中 / Queued",
    running: "识别中 / Reading",
    done: "完成 / Done",
    failed: "失败 / Failed",
    cancelled: "已取消 / Cancelled",
  };
  // File names of the server's formats: name.txt, name.md, ...; the PDF is not named like the scan.
  const DOWNLOAD_SUFFIX = { json: ".json", txt: ".txt", md: ".md", hocr: ".hocr", pdf: "-searchable.pdf" };

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

  // A document item (PDF / TIFF) also has `doc: true`, `page` (the index of the page shown),
  // `pageUrls` (a blob: URL of each page's preview image, or null), and while it runs as a job,
  // `job` ({id, state, ...} as GET /jobs/{id} answers, plus `ended`), `pageLoads` (the fetch of each
  // page's image, once asked for) and `observer` (loads thumbnails as they come into view).
  /** @type {Array<{id:number,file:File,name:string,doc:boolean,url:string|null,state:string,result:any,error:any,card:HTMLElement,page:number,pageUrls:Array<string|null>,job:any,pageLoads:Array<Promise<string|null>|undefined>,observer:IntersectionObserver|null}>} */
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
        job: null,
        pageLoads: [],
        observer: null,
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

  /** A PDF or TIFF: read as a job (page by page, in the background) and shown page by page. */
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
    const buttons = $$("[data-export], [data-download], [data-action='copy-all'], [data-action='copy-page']", card);
    for (const button of buttons) button.disabled = !done;
  }

  // ---------------------------------------------------------------- recognition

  async function startAll() {
    if (running) return;
    const todo = items.filter((it) => ["pending", "error", "cancelled"].includes(it.state));
    if (!todo.length) {
      toast("没有待识别的图片 / Nothing to recognise");
      return;
    }
    running = true;
    refresh();
    const queue = todo.slice();
    const jobs = []; // documents: submitted, then followed without holding a worker
    const worker = async () => {
      while (queue.length) {
        const item = queue.shift();
        if (!items.includes(item)) continue;
        if (!item.doc) await recognise(item);
        else {
          const submitted = await submitJob(item);
          if (submitted) jobs.push(submitted.followed);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));
    running = false;
    refresh();
    if (jobs.length) await Promise.all(jobs);
    const failed = todo.filter((it) => it.state === "error").length;
    const cancelled = todo.filter((it) => it.state === "cancelled").length;
    if (cancelled) toast(`完成，${failed} 个失败，${cancelled} 个已取消 / Done, ${failed} failed, ${cancelled} cancelled`);
    else toast(failed ? `完成，${failed} 个失败 / Done, ${failed} failed` : "全部完成 / All done");
  }

  async function recognise(item) {
    setState(item, "working");
    clearResult(item);
    refresh();
    const form = new FormData();
    form.append("image", item.file, item.name);
    form.append("det", els.det.checked ? "true" : "false");
    form.append("preprocess", els.preprocess.value);
    const answer = await postWithRetry("/ocr", form, item);
    if (answer.ok) {
      item.result = answer.body;
      item.error = null;
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
      const answer = await callApi(url, { method: "POST", body: form });
      if (answer.status === 503 && attempt < MAX_RETRIES) {
        const wait = Math.min(30, Number(answer.retryAfter) || 1);
        if (item) $(".status", item.card).textContent = `服务器繁忙，${wait} 秒后重试 / Busy, retrying in ${wait}s`;
        await sleep(wait * 1000);
        if (item) $(".status", item.card).textContent = STATUS_LABELS.working;
        continue;
      }
      return answer;
    }
  }

  /** A call of the JSON API with the API key: {ok, status, body} or {ok: false, status, code,
   * message} from the server's error body (status 0: the server could not be reached). */
  async function callApi(url, init = {}) {
    let res;
    try {
      res = await fetch(url, { ...init, headers: authHeaders(), cache: "no-store" });
    } catch (err) {
      return networkError(err);
    }
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (res.ok && body) return { ok: true, status: res.status, body };
    return failure(res, body);
  }

  function networkError(err) {
    return { ok: false, status: 0, code: "network_error", message: `网络错误 / Network error: ${err.message}` };
  }

  function failure(res, body) {
    const error = body && body.error ? body.error : {};
    return {
      ok: false,
      status: res.status,
      code: error.code || `http_${res.status}`,
      message: error.message || res.statusText || "unknown error",
      retryAfter: res.headers.get("Retry-After"),
    };
  }

  function authHeaders() {
    const key = els.apiKey.value.trim();
    if (!key) return {};
    sessionStorage.setItem("cpuocr-api-key", key);
    return { "X-API-Key": key };
  }

  // ---------------------------------------------------------------- documents: jobs

  /** Submit a document as a job (POST /jobs, the page's options and preview=true); once it is
   * accepted, `{followed}`: a promise that settles when the job has ended (wrapped, so that
   * awaiting the submit does not wait for the whole job). A refused submit (4xx, or 503 past
   * the retries) shows the server's error in the card. */
  async function submitJob(item) {
    item.job = null;
    item.result = null;
    setState(item, "working");
    clearResult(item);
    $(".download-group", item.card).hidden = true;
    showJob(item, { state: "submitting", pages_done: 0, pages_total: 0 });
    refresh();
    const form = new FormData();
    form.append("file", item.file, item.name);
    form.append("det", els.det.checked ? "true" : "false");
    form.append("preprocess", els.preprocess.value);
    form.append("preview", "true"); // each page's image is kept for the page view
    const answer = await postWithRetry("/jobs", form, item);
    if (!items.includes(item)) return;
    if (!answer.ok) {
      $(".job", item.card).hidden = true;
      fail(item, answer, "无法提交此文件 / This file was refused");
      return;
    }
    const job = answer.body.job;
    item.job = job;
    showJob(item, job);
    return { followed: followJob(item, job) };
  }

  /** Poll GET /jobs/{id} until the job ends (done, failed, cancelled) or the item goes away. */
  async function followJob(item, job) {
    let delay = POLL_FIRST_MS;
    let seen = job.pages_done;
    for (;;) {
      await sleep(delay);
      if (!following(item, job)) return;
      const answer = await callApi(jobUrl(job));
      if (!following(item, job)) return;
      if (!answer.ok) {
        if (answer.status === 0 || answer.status >= 500) {
          // The server is restarting or unreachable: the job is kept; ask again later.
          delay = Math.min(POLL_OFFLINE_MAX_MS, Math.max(1000, delay * 2));
          setJobLabel(item, `连接中断，稍后重试 / Connection lost, trying again in ${Math.round(delay / 1000)} s`);
          continue;
        }
        endJob(item, job);
        fail(item, answer, "任务已不可用 / The job is gone");
        return;
      }
      const info = answer.body.job;
      Object.assign(job, info);
      showJob(item, job);
      if (info.state === "done") return showJobResult(item, job);
      if (info.state === "failed") return jobFailed(item, job);
      if (info.state === "cancelled") return jobCancelled(item, job);
      // Quick while pages come in; slower while nothing changes (a queued job, a long page).
      delay = info.pages_done !== seen ? POLL_FIRST_MS * 2 : Math.min(POLL_MAX_MS, delay * 1.5);
      seen = info.pages_done;
    }
  }

  function following(item, job) {
    return items.includes(item) && item.job === job && !job.ended;
  }

  function endJob(item, job) {
    job.ended = true;
    $("[data-action='job-cancel']", item.card).hidden = true;
  }

  function jobUrl(job, tail = "") {
    return `/jobs/${encodeURIComponent(job.id)}${tail}`;
  }

  /** The job strip: a progress bar, the state and pages done of total, Cancel while it runs. */
  function showJob(item, job) {
    const card = item.card;
    const strip = $(".job", card);
    strip.hidden = false;
    strip.dataset.jobState = job.state;
    const total = job.pages_total;
    const done = job.pages_done;
    strip.dataset.pagesDone = String(done);
    strip.dataset.pagesTotal = String(total);
    const fill = $(".job-fill", card);
    fill.style.width = total ? `${Math.round((100 * done) / total)}%` : "0%";
    const track = $(".job-track", card);
    track.classList.toggle("job-waiting", job.state === "queued" || job.state === "submitting");
    const running = job.state === "submitting" || job.state === "queued" || job.state === "running";
    const cancel = $("[data-action='job-cancel']", card);
    cancel.hidden = !running;
    cancel.disabled = job.state === "submitting";
    const label = JOB_LABELS[job.state] || job.state;
    setJobLabel(item, total ? `${label} · 第 ${done} / ${total} 页 — ${done} of ${total} pages` : label);
  }

  function setJobLabel(item, text) {
    $(".job-label", item.card).textContent = text;
  }

  /** Cancel (DELETE /jobs/{id}): the job stops after its current page. */
  async function cancelJob(item) {
    const job = item.job;
    if (!job || job.ended) return;
    const button = $("[data-action='job-cancel']", item.card);
    button.disabled = true;
    setJobLabel(item, "取消中… / Cancelling…");
    const answer = await callApi(jobUrl(job), { method: "DELETE" });
    if (!following(item, job)) return;
    if (answer.ok && answer.body.job.state === "cancelled") {
      Object.assign(job, answer.body.job);
      jobCancelled(item, job);
      return;
    }
    if (answer.ok && answer.body.deleted) {
      // It had just finished: DELETE removes a finished job, its result with it.
      endJob(item, job);
      const message = "the job had finished and was deleted with its result; start it again";
      fail(item, { status: null, code: "job_deleted", message }, "任务已删除 / The job was deleted");
      return;
    }
    // It ended meanwhile (the poll shows how), or the DELETE failed: say so, keep following.
    button.disabled = false;
    if (!answer.ok) toast(`取消失败 / Cancel failed: ${answer.message}`);
  }

  function jobCancelled(item, job) {
    endJob(item, job);
    showJob(item, job);
    setJobLabel(
      item,
      `已取消，读了 ${job.pages_done} / ${job.pages_total} 页 — Cancelled after ${job.pages_done} of ${job.pages_total} pages`,
    );
    setState(item, "cancelled");
    $(".no-preview", item.card).textContent = "已取消，没有结果 / Cancelled: no result";
    refresh();
  }

  /** Every file of the job failed: the file's own error (the code and message POST /ocr gives). */
  function jobFailed(item, job) {
    endJob(item, job);
    const file = (job.files || []).find((f) => f.error) || {};
    const error = file.error || {};
    fail(
      item,
      { status: null, code: error.code || "job_failed", message: error.message || "the job failed" },
      "识别失败 / Recognition failed",
    );
  }

  function fail(item, answer, title) {
    item.error = { ...answer, title };
    $(".no-preview", item.card).textContent = NO_PREVIEW;
    setState(item, "error");
    renderError(item);
    refresh();
  }

  /** The finished job: its pages (the result in format=json, laid out as POST /ocr's document
   * answer), the first pages' images, then the pages view and the downloads. */
  async function showJobResult(item, job) {
    endJob(item, job);
    setJobLabel(item, "载入结果… / Loading the result…");
    const answer = await callApi(jobUrl(job, "/result?format=json"));
    if (item.job !== job || !items.includes(item)) return;
    if (!answer.ok) {
      showJob(item, job);
      fail(item, answer, "无法取得结果 / The result could not be fetched");
      return;
    }
    const pages = answer.body.pages.map(answerPage);
    item.result = {
      success: true,
      job: job.id,
      kind: answer.body.kind,
      page_count: answer.body.page_count,
      time_ms: pages.reduce((sum, p) => sum + p.time_ms, 0),
      cached: false,
      pages,
    };
    item.error = null;
    item.pageLoads = [];
    const first = pages.slice(0, PREFETCH_PAGES).map((_, i) => i);
    await inTurn(first, PREVIEW_FETCHES, (i) => loadPreview(item, i));
    if (item.job !== job || !items.includes(item)) return;
    showJob(item, job);
    $(".download-group", item.card).hidden = false;
    setState(item, "done");
    renderResult(item);
    refresh();
    toast(`${item.name}：完成 / done`);
  }

  /** A page of the document JSON (blocks > paragraphs > rows > lines) as a page of POST /ocr's
   * document answer (its lines in reading order), which the page view and the exports read. */
  function answerPage(page) {
    const lines = [];
    for (const block of page.blocks) {
      for (const paragraph of block.paragraphs) {
        for (const row of paragraph.rows) {
          for (const line of row.lines) lines.push({ text: line.text, score: line.score, box: line.box });
        }
      }
    }
    return {
      page: page.number,
      text: lines.map((line) => line.text),
      lines,
      width: page.width,
      height: page.height,
      dpi: page.dpi,
      source: page.source,
      time_ms: page.time_ms,
    };
  }

  /** Page ``index``'s image (GET /jobs/{id}/pages/{n}/preview with the API key, kept as a blob:
   * URL), fetched once; null when it has none. */
  function loadPreview(item, index) {
    const job = item.job;
    const page = item.result && item.result.pages[index];
    if (!job || !page) return Promise.resolve(null);
    if (item.pageUrls[index]) return Promise.resolve(item.pageUrls[index]);
    if (item.pageLoads[index]) return item.pageLoads[index];
    const loads = item.pageLoads;
    const load = (async () => {
      try {
        const res = await fetch(jobUrl(job, `/pages/${page.page}/preview`), { headers: authHeaders() });
        if (!res.ok) return null;
        const blob = await res.blob();
        const bitmap = await createImageBitmap(blob);
        page.preview = { width: bitmap.width, height: bitmap.height };
        bitmap.close();
        if (item.pageLoads !== loads || !items.includes(item)) return null; // cleared meanwhile
        const url = URL.createObjectURL(blob);
        item.pageUrls[index] = url;
        return url;
      } catch {
        if (item.pageLoads === loads) delete loads[index]; // asked again on the next look
        return null;
      }
    })();
    loads[index] = load;
    return load;
  }

  /** Run ``work`` on each of ``list``, at most ``width`` at a time. */
  async function inTurn(list, width, work) {
    const queue = list.slice();
    const runner = async () => {
      while (queue.length) await work(queue.shift());
    };
    await Promise.all(Array.from({ length: Math.min(width, queue.length) }, runner));
  }

  /** A thumbnail whose page image is not here yet gets it when it comes into view. */
  function watchThumb(item, button) {
    if (!item.observer) {
      const strip = $(".thumbs", item.card);
      item.observer = new IntersectionObserver(
        (entries, observer) => {
          for (const entry of entries) {
            if (!entry.isIntersecting) continue;
            observer.unobserve(entry.target);
            const index = Number(entry.target.dataset.page);
            loadPreview(item, index).then((url) => {
              if (url && entry.target.isConnected && item.result) {
                setThumbImage(entry.target, url, item.result.pages[index]);
              }
            });
          }
        },
        { root: strip, rootMargin: "0px 400px" },
      );
    }
    item.observer.observe(button);
  }

  function setThumbImage(button, url, page) {
    const img = document.createElement("img");
    img.src = url;
    img.alt = "";
    img.decoding = "async";
    const size = page.preview || page;
    img.style.aspectRatio = `${size.width} / ${size.height}`;
    const old = $(".thumb-blank, img", button);
    if (old) old.replaceWith(img);
    else button.prepend(img);
  }

  /** A format of the finished job from the server (with the API key: fetched, saved as a blob). */
  async function downloadResult(item, format, button) {
    const job = item.job;
    if (!job) return;
    button.disabled = true;
    try {
      let res;
      try {
        res = await fetch(jobUrl(job, `/result?format=${encodeURIComponent(format)}`), { headers: authHeaders() });
      } catch (err) {
        toast(`下载失败 / Download failed: ${networkError(err).message}`);
        return;
      }
      if (!res.ok) {
        let body = null;
        try {
          body = await res.json();
        } catch {
          body = null;
        }
        const error = failure(res, body);
        toast(`下载失败 / Download failed: ${error.message} (HTTP ${error.status} · ${error.code})`);
        return;
      }
      saveBlob(await res.blob(), baseName(item.name) + DOWNLOAD_SUFFIX[format]);
    } finally {
      button.disabled = item.state !== "done";
    }
  }

  function baseName(name) {
    return name.replace(/\.[^.]+$/, "");
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
    $(".job", card).hidden = true;
    releasePages(item);
  }

  function releasePages(item) {
    for (const url of item.pageUrls) if (url) URL.revokeObjectURL(url);
    item.pageUrls = [];
    item.pageLoads = [];
    if (item.observer) item.observer.disconnect();
    item.observer = null;
  }

  function renderResult(item) {
    const r = item.result;
    if (isDocument(r)) {
      renderPages(item);
      return;
    }
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
      const number = document.createElement("span");
      number.className = "thumb-num";
      number.textContent = String(page.page);
      button.append(number);
      const url = item.pageUrls[i];
      if (url) {
        setThumbImage(button, url, page);
      } else {
        const blank = document.createElement("span");
        blank.className = "thumb-blank";
        blank.textContent = "—";
        button.prepend(blank);
        if (item.job) watchThumb(item, button); // its image is fetched when it comes into view
      }
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
    const alt = `${item.name} · 第 ${page.page} 页 / Page ${page.page}`;
    if (url) showImage(card, url, alt);
    else {
      showNoPreview(card);
      if (item.job) {
        $(".no-preview", card).textContent = "载入页面… / Loading the page…";
        loadPreview(item, index).then((loaded) => {
          if (!item.result || item.page !== index || item.result.pages[index] !== page) return;
          if (loaded) showImage(card, loaded, alt);
          else $(".no-preview", card).textContent = NO_PREVIEW;
        });
      }
    }
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
    title.textContent = e.title || "无法识别此文件 / This file was rejected";
    const msg = document.createElement("span");
    msg.textContent = e.message;
    const code = document.createElement("code");
    code.textContent = e.status === null ? ` (${e.code})` : ` (HTTP ${e.status || "—"} · ${e.code})`;
    box.replaceChildren(title, msg, code);
    box.hidden = false;
  }

  // ---------------------------------------------------------------- interaction

  function onCardClick(item, event) {
    const target = event.target;
    const actionEl = target.closest("[data-action], [data-export], [data-download]");
    if (actionEl) {
      const action = actionEl.dataset.action;
      if (actionEl.dataset.export) exportItems([item], actionEl.dataset.export);
      else if (actionEl.dataset.download) downloadResult(item, actionEl.dataset.download, actionEl);
      else if (action === "job-cancel") cancelJob(item);
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
    const job = item.job;
    if (job && !job.ended) {
      // Nobody will look at it: stop its work on the server too (it keeps nothing we need).
      job.ended = true;
      callApi(jobUrl(job), { method: "DELETE" });
    }
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
    const waiting = items.filter((it) => it.state === "pending" || it.state === "cancelled").length;
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
    const base = ready.length === 1 ? baseName(ready[0].name) : "cpuocr-results";
    saveBlob(new Blob([exporter.build(ready)], { type: exporter.mime }), `${base}.${exporter.ext}`);
  }

  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
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
