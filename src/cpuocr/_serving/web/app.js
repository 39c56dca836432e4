// cpuocr Web UI: choose / drop / paste images and documents (PDF, multi-page TIFF), recognise them,
// show boxes over each image (each page of a document, with thumbnails and page navigation) beside
// its lines, copy and export results, preview the preprocessing stages. Images go through POST /ocr
// (one quick request each); documents through the durable jobs API (POST /jobs, polled for
// per-page progress, cancellable, the result and each page's image fetched when done, and every
// output format downloaded from the server).
// Reading aids: a viewer that zooms (buttons, Ctrl+wheel / pinch, fit width / page, + - keys) and
// pans (drag, scroll, arrows) with the boxes aligned at every zoom; search in the text (filters
// the lines, lights their boxes, Enter goes from match to match); a lines view and a paragraphs
// view; a line's text corrected in place before copy and export. Results are kept in the browser
// (IndexedDB history, capped); many files get a compact list view, one overall progress bar
// pinned under the top bar (with Stop) and the progress in the tab title.
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
  // The server's status (/readyz): while it answers, checks backing off from 5 s to 30 s (an idle
  // tab is 2 requests a minute, none while hidden); while it does not, from 1 s to 5 s. A request
  // that finds the server unreachable says so at once and starts the quick checks.
  const STATUS_OK_MS = [5000, 10000, 20000, 30000];
  const STATUS_RETRY_MS = [1000, 2000, 4000, 5000];
  // A finished document is marked done once its first pages' images are here; the others come
  // as their thumbnails come into view (a long document's images are never all fetched at once).
  const PREFETCH_PAGES = 8;
  const PREVIEW_FETCHES = 3; // page images fetched at once

  const STAGE_LABELS = {
    original: "原图 / Original",
    gray: "灰度 / Gray",
    equalized: "直方图均衡 / Equalized",
    binarized: "自适应二值化 / Binarized",
    resized: "缩放到行高 / Resized to line height",
    detector_input: "检测器的输入 / What the detector reads",
  };
  // /preprocess's actions are English (the API's words): each shown with its Chinese first
  const ACTION_ZH = [
    [/^gamma 0\.6: dark \(mean gray (\d+) < (\d+)\)/, "伽马 0.6：偏暗（平均灰度 $1 < $2）"],
    [/^CLAHE on lightness: low contrast \(gray std (\d+) < (\d+)\)/, "亮度通道 CLAHE：对比度低（灰度标准差 $1 < $2）"],
    [/^unchanged: clean enough \(mean gray (\d+), gray std (\d+)\)/, "未改动：足够清晰（平均灰度 $1，灰度标准差 $2）"],
    [/^unchanged; the detector reads it resized to (\d+)×(\d+)/, "未改动；检测器读取缩放到 $1×$2 的图像"],
    [/^the detector reads it resized to (\d+)×(\d+)/, "检测器读取缩放到 $1×$2 的图像"],
    [/^gray → equalizeHist/, "灰度 → 直方图均衡 → 自适应高斯阈值 11/2；检测和识别都读取二值图"],
  ];

  function actionText(text) {
    for (const [pattern, zh] of ACTION_ZH) {
      const m = text.match(pattern);
      if (m) return `${m[0].replace(pattern, zh)} / ${text}`;
    }
    return text;
  }

  const MODE_CAPTIONS = {
    classic: "经典流程每一步的结果 · What each step of the classic recipe produces",
    auto: "自动模式对这张图片做了什么 · What auto did to this image",
    none: "不做预处理：检测器读取缩放后的原图 · None: the detector reads the image, resized",
  };
  const STATUS_LABELS = {
    pending: "待识别 / Pending",
    working: "识别中… / Recognising…",
    done: "完成 / Done",
    error: "已拒绝 / Rejected",
    offline: "服务器无法连接，未识别 / Server unreachable: not read",
    retry: "服务器出错，可重试 / Server error: can retry",
    cancelled: "已取消 / Cancelled",
  };
  // States that Start sends (again): never "error", a file refused for what it is.
  const SENDABLE = ["pending", "offline", "retry", "cancelled"];
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
  const PAGES_LATER = "每页识别后即显示 / Each page appears as soon as it is read";

  // Every error code the server sends (cpuocr.errors, _serving/errors.py, jobs, the body limits)
  // and the page's own, in Chinese and English; the server's own message (its details: which
  // page, which field) is shown under it, sizes in KB/MB.
  const ERROR_TEXT = {
    bad_request: ["请求无效", "The request is not valid"],
    missing_field: ["缺少文件或字段", "A file or field is missing"],
    bad_field: ["字段无效", "A field is not valid"],
    bad_multipart: ["上传的表单已损坏", "The upload form is damaged"],
    invalid_json: ["JSON 无效", "The JSON is not valid"],
    invalid_base64: ["Base64 数据无效", "The base64 data is not valid"],
    invalid_parameter: ["选项的值无效", "An option has a value that is not valid"],
    file_required: ["没有上传文件", "No file was sent"],
    field_too_large: ["字段太长", "A field is too long"],
    too_many_files: ["一次上传的文件太多", "Too many files in one request"],
    unauthorized: ["API 密钥缺失或错误", "The API key is missing or wrong"],
    forbidden: ["服务器拒绝了此请求", "The server refuses this request"],
    host_not_allowed: ["服务器不响应此主机名", "The server does not answer to this host name"],
    cross_origin_refused: ["拒绝来自其他网站的请求", "Requests from another site are refused"],
    not_found: ["找不到", "Not found"],
    method_not_allowed: ["不支持此请求方法", "This request method is not allowed"],
    job_not_found: ["任务不存在（已删除或已过期）", "The job does not exist (deleted or expired)"],
    preview_not_found: ["此页没有图像", "This page has no image"],
    request_timeout: ["上传超时", "The upload took too long"],
    upload_too_slow: ["上传太慢", "The upload was too slow"],
    timeout: ["识别超时", "Reading took too long"],
    conflict: ["状态冲突", "Conflict"],
    job_not_finished: ["任务尚未完成", "The job has not finished"],
    job_cancelled: ["任务已取消", "The job was cancelled"],
    file_failed: ["此文件识别失败", "This file failed"],
    payload_too_large: ["文件太大", "The file is too large"],
    request_too_large: ["上传太大", "The upload is too large"],
    file_too_large: ["文件超过大小上限", "The file is over the size limit"],
    image_too_large: ["图像尺寸超过上限", "The image is over the size limit"],
    too_many_pages: ["页数超过上限", "Too many pages"],
    unsupported_media_type: ["不支持的上传格式", "This upload format is not supported"],
    unsupported_format: ["不支持此文件类型", "This type of file is not supported"],
    invalid_image: ["不是可读的图片（空的、损坏的或不是图片）", "Not a readable image (empty, damaged or not an image)"],
    work_limit_exceeded: ["识别此文件的工作量超过上限", "Reading this file would take more work than allowed"],
    processing_failed: ["处理此文件时出错", "Processing this file failed"],
    deadline_exceeded: ["识别超时", "Reading took too long"],
    config_error: ["设置无效", "A setting is not valid"],
    cpuocr_error: ["无法识别此文件", "This file cannot be read"],
    model_not_found: ["服务器的模型未就绪", "The server's models are not ready"],
    model_checksum_mismatch: ["服务器的模型文件已损坏", "The server's model files are damaged"],
    overloaded: ["服务器繁忙", "The server is busy"],
    queue_full: ["队列已满，请稍后再试", "The queue is full: try again later"],
    uploads_full: ["服务器正在接收太多上传", "The server is receiving too many uploads"],
    shutting_down: ["服务器正在关闭", "The server is shutting down"],
    not_ready: ["服务器尚未就绪", "The server is not ready yet"],
    client_gone: ["连接已断开", "The connection was closed"],
    jobs_disabled: ["服务器未启用后台任务（--data-dir）", "Jobs are off on this server (--data-dir)"],
    jobs_unavailable: ["任务存储暂不可用", "The job store is unavailable for now"],
    internal_error: ["服务器内部错误（已记录）", "Internal server error (logged)"],
    // the page's own
    network_error: ["服务器无法连接", "The server cannot be reached"],
    empty_file: ["文件是空的（0 字节）", "The file is empty (0 bytes)"],
    unsupported_type: ["无法读取此类文件：只接受图片、PDF 和 TIFF", "This type of file cannot be read: images, PDFs and TIFFs only"],
    job_failed: ["任务失败", "The job failed"],
    job_deleted: ["任务已删除", "The job was deleted"],
  };

  // What the server decodes (imaging.DECODABLE_FORMATS, and PDFs): a file whose name and type
  // both say otherwise (.txt, .docx, .heic…) is refused here, before any upload.
  const READABLE_NAME = /\.(jpe?g|jpe|jfif|png|bmp|dib|webp|tiff?|gif|p[bgpn]m|pdf)$/i;
  const READABLE_TYPES = new Set([
    "image/jpeg", "image/png", "image/bmp", "image/x-ms-bmp", "image/webp", "image/tiff", "image/gif",
    "image/x-portable-pixmap", "image/x-portable-graymap", "image/x-portable-bitmap",
    "image/x-portable-anymap", "application/pdf",
  ]);

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
    limits: $("#limits-hint"),
    dialog: $("#preview-dialog"),
    stages: $("#preview-stages"),
    previewCaption: $("#preview-caption"),
    previewActions: $("#preview-actions"),
    toast: $("#toast"),
    history: $("#history"),
    detHint: $("#det-hint"),
    progress: $("#progress"),
    progressBar: $("#progress-bar"),
    progressLabel: $("#progress-label"),
    historyList: $("#history-list"),
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
  // The run Start began: its files, until each has finished (documents: their jobs ended).
  let batch = null;
  const BASE_TITLE = document.title;
  // The results as full cards or a compact list (one row a file): the user's choice, kept;
  // without one, a list from LIST_FROM files on.
  const LIST_FROM = 6;
  let chosenView = localStorage.getItem("cpuocr-view");
  // The server's limits from /readyz (with the API key when one is set); null until known.
  const limits = { maxUpload: null, maxPixels: null, maxBatch: null, maxJob: null, preprocess: null };
  let serverUp = null; // true / false once known
  let statusTimer = 0;
  let statusMisses = 0;
  let statusOks = 0;

  // ---------------------------------------------------------------- server status

  /** Ask /readyz (with the API key, which brings the configuration and limits); schedule the
   * next check: every few seconds while the server answers, backing off while it does not. */
  async function checkServer() {
    clearTimeout(statusTimer);
    if (document.hidden) return; // checked again when the tab is shown
    let res;
    let info;
    try {
      res = await fetch("/readyz", { cache: "no-store", headers: authHeaders() });
      info = await res.json();
    } catch {
      serverDown();
      return;
    }
    const wasDown = serverUp === false;
    serverUp = true;
    statusMisses = 0;
    if (wasDown) statusOks = 0;
    if (info.auth_required && els.apiKeyField.hidden) {
      els.apiKeyField.hidden = false;
      els.apiKey.value = sessionStorage.getItem("cpuocr-api-key") || "";
      if (els.apiKey.value && !info.preset) {
        statusTimer = setTimeout(checkServer, 0); // again with the saved key: the limits
        return;
      }
    }
    readLimits(info);
    if (res.ok && info.ready) {
      // Without the API key (when one is set) /readyz tells only that the service is ready.
      // in plain words: the preset, how many images at once (slots), the threads of each
      const s = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
      const detail = info.preset
        ? `预设 ${info.preset} · ${info.slots} 个槽 × ${info.threads} 线程 / Preset: ${info.preset} · ${s(info.slots, "slot")} × ${s(info.threads, "thread")}`
        : "";
      setPill("pill-ok", "就绪 / Ready", detail);
      els.status.title = info.preset
        ? `同时识别 ${info.slots} 张图片，每张 ${info.threads} 个线程，队列 ${info.queue_size} — ${s(info.slots, "image")} at once, ${s(info.threads, "thread")} each, a queue of ${info.queue_size}`
        : "";
    } else {
      setPill("pill-wait", "加载模型… / Loading models…");
    }
    if (wasDown) {
      const waiting = items.filter((it) => it.state === "offline").length;
      toast(
        waiting
          ? `服务器已恢复，按“开始识别”重试 ${waiting} 个文件 / The server is back: press Start to retry ${waiting} file${waiting === 1 ? "" : "s"}`
          : "服务器已恢复 / The server is back",
      );
    }
    refresh();
    const next = STATUS_OK_MS[Math.min(statusOks, STATUS_OK_MS.length - 1)];
    statusOks = res.ok && info.ready ? statusOks + 1 : 0;
    statusTimer = setTimeout(checkServer, res.ok && info.ready ? next : 2000);
  }

  /** The server did not answer (a status check or any request): say so, check again soon. */
  function serverDown() {
    clearTimeout(statusTimer);
    serverUp = false;
    statusOks = 0;
    setPill("pill-bad", "服务器无法连接 / Server unreachable");
    els.status.title = "服务器没有响应，正在重试 / The server does not answer; checking again";
    statusTimer = setTimeout(checkServer, STATUS_RETRY_MS[Math.min(statusMisses, STATUS_RETRY_MS.length - 1)]);
    statusMisses += 1;
    refresh();
  }

  /** The limits /readyz gives (only with the key when one is set): the help text and the checks
   * before upload use the server's own numbers. */
  function readLimits(info) {
    if (typeof info.max_upload_bytes !== "number") return;
    limits.maxUpload = info.max_upload_bytes;
    limits.maxPixels = typeof info.max_pixels === "number" ? info.max_pixels : null;
    limits.maxBatch = typeof info.max_batch_images === "number" ? info.max_batch_images : null;
    limits.maxJob = typeof info.max_job_bytes === "number" ? info.max_job_bytes : null;
    limits.preprocess = typeof info.preprocess === "string" ? info.preprocess : null;
    const size = formatSize(limits.maxUpload);
    const mp = limits.maxPixels ? Math.round(limits.maxPixels / 1e6) : null;
    const zh = [`图片和 TIFF 每个最大 ${size}`];
    const en = [`images and TIFFs up to ${size} each`];
    if (mp) {
      zh.push(`${mp} 百万像素`);
      en.push(`${mp} megapixels`);
    }
    if (limits.maxJob) {
      zh.push(`PDF 最大 ${formatSize(limits.maxJob)}`);
      en.push(`PDFs up to ${formatSize(limits.maxJob)}`);
    }
    els.limits.textContent = `${zh.join("，")} — ${en.join(", ")}`;
    els.limits.hidden = false;
  }

  function setPill(cls, text, detail = "") {
    els.status.className = `pill ${cls}`;
    els.status.textContent = text;
    if (detail) {
      const more = document.createElement("span");
      more.className = "pill-detail";
      more.setAttribute("data-testid", "server-detail");
      more.textContent = ` · ${detail}`;
      els.status.append(more);
    }
  }

  // ---------------------------------------------------------------- adding files

  /** A new item for ``file``, its card added to the page. */
  function newItem(file) {
    const item = {
      id: nextId++,
      file,
      name: file.name || `image-${nextId}`,
      doc: isDocumentFile(file),
      url: file.size && (file.type.startsWith("image/") || file.type === "") ? URL.createObjectURL(file) : null,
      state: "pending",
      result: null,
      error: null,
      card: null,
      page: 0,
      pageUrls: [],
      job: null,
      pageLoads: [],
      observer: null,
      settings: null,
      zoom: { mode: "auto", scale: 1 },
      historyKey: null, // its entry in the history (IndexedDB), once saved
      noFile: false, // opened from the history without its file: it cannot be read again
    };
    item.card = buildCard(item);
    items.push(item);
    els.results.appendChild(item.card);
    return item;
  }

  function addFiles(fileList) {
    const files = Array.from(fileList || []);
    for (const file of files) {
      const item = newItem(file);
      // added during a run: read in this run, without pressing Start again
      if (!refuseHere(item) && running && batch && !batch.stopped) {
        batch.todo.push(item);
        batch.queue.push(item);
      }
    }
    if (files.length) {
      toast(`已添加 ${files.length} 个文件 / Added ${files.length} file${files.length > 1 ? "s" : ""}`);
    }
    refresh();
  }

  /** Refuse ``item`` in the browser, before any upload, when it is empty, of a type the server
   * cannot read, or over the server's size limit; true when refused. */
  function refuseHere(item) {
    const file = item.file;
    const name = file.name || "";
    let code = null;
    let detail = "";
    if (file.size === 0) code = "empty_file";
    else if (!READABLE_NAME.test(name) && !READABLE_TYPES.has(file.type) && (file.type || /\.[^.]+$/.test(name))) {
      code = "unsupported_type";
      const ext = (name.match(/\.[^.]+$/) || [""])[0];
      detail = [ext, file.type].filter(Boolean).join(" · ");
    } else {
      const pdf = file.type === "application/pdf" || /\.pdf$/i.test(name);
      const limit = pdf ? limits.maxJob : limits.maxUpload;
      if (limit && file.size > limit) {
        code = "file_too_large";
        detail = `文件 ${formatSize(file.size)}，服务器的上限是 ${formatSize(limit)} — the file is ${formatSize(file.size)}, the server's limit is ${formatSize(limit)}`;
      }
    }
    if (!code) return false;
    item.error = {
      status: null,
      code,
      message: detail,
      title: "未上传：浏览器已拒绝此文件 / Not uploaded: refused in the browser",
    };
    setState(item, "error");
    renderError(item);
    return true;
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
    $(".file-meta", card).textContent = `${formatSize(item.file.size)}${item.file.type ? " · " + item.file.type : ""}`;
    const img = $(".image", card);
    if (item.doc) {
      $(".no-preview", card).textContent = PAGES_LATER;
      $("[data-action='preview']", card).hidden = true; // the stages are of one image
    }
    img.addEventListener("load", () => applyZoom(item));
    wireViewer(item, card);
    const search = $(".line-search", card);
    search.addEventListener("input", () => applySearch(item));
    search.addEventListener("keydown", (event) => searchKey(item, event));
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
    card.addEventListener("dblclick", (event) => {
      const li = event.target.closest(".line");
      if (li && event.target.closest(".text")) startEdit(item, Number(li.dataset.index));
    });
    card.addEventListener("focusin", (event) => {
      // a line focused by a click or a tap becomes the list's tab stop
      const li = event.target.closest && event.target.closest(".line");
      if (li && li.tabIndex !== 0) focusLine(item, Number(li.dataset.index), false);
    });
    return card;
  }

  function showNoPreview(card) {
    $(".viewer", card).hidden = true;
    $(".viewer-bar", card).hidden = true;
    $(".no-preview", card).hidden = false;
  }

  function showImage(card, url, alt) {
    const img = $(".image", card);
    img.src = url;
    img.alt = alt;
    $(".viewer", card).hidden = false;
    $(".viewer-bar", card).hidden = false;
    $(".no-preview", card).hidden = true;
  }

  function setState(item, state, card = item.card) {
    item.state = state;
    card.dataset.state = state;
    $(".status", card).textContent = STATUS_LABELS[state];
    const done = state === "done";
    const buttons = $$("[data-export], [data-download], [data-action='copy-all'], [data-action='copy-page']", card);
    for (const button of buttons) button.disabled = !done;
    $("[data-action='preview']", card).disabled = state === "error"; // nothing to preview
  }

  /** The options of the page now (what Start sends). */
  function currentSettings() {
    return { det: els.det.checked, preprocess: els.preprocess.value };
  }

  /** A file to send on Start: not sent yet, not sent for want of a server, cancelled, or done
   * with other settings than those chosen now (a re-run). Never one refused for what it is. */
  function sendable(item) {
    if (item.noFile) return false;
    if (SENDABLE.includes(item.state)) return true;
    if (item.state !== "done" || !item.settings) return false;
    const now = currentSettings();
    return item.settings.det !== now.det || item.settings.preprocess !== now.preprocess;
  }

  // ---------------------------------------------------------------- recognition

  async function startAll() {
    if (running) return;
    // Limits may have come since a file was added (the API key typed): checked again here.
    const todo = items.filter((it) => sendable(it) && !refuseHere(it));
    if (!todo.length) {
      toast("没有待识别的图片 / Nothing to recognise");
      return;
    }
    running = true;
    const queue = todo.slice();
    batch = { todo, queue, ended: false, stopped: false };
    for (const item of todo) if (item.state === "done") setState(item, "pending"); // read again
    refresh();
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
    batch.ended = true;
    refresh();
    const failed = todo.filter((it) => it.state === "error").length;
    const cancelled = todo.filter((it) => it.state === "cancelled").length;
    const unsent = todo.filter((it) => it.state === "offline" || it.state === "retry").length;
    if (batch.stopped) {
      const left = items.filter((it) => it.state === "pending").length;
      toast(`已停止，${left} 个文件未开始，按“开始识别”继续 / Stopped: ${left} file${left === 1 ? "" : "s"} not started, press Start to go on`);
    } else if (unsent) {
      toast(`${unsent} 个文件未完成，可重试 / ${unsent} file${unsent === 1 ? "" : "s"} not read: press Start to retry`);
    } else if (cancelled) toast(`完成，${failed} 个失败，${cancelled} 个已取消 / Done, ${failed} failed, ${cancelled} cancelled`);
    else toast(failed ? `完成，${failed} 个失败 / Done, ${failed} failed` : "全部完成 / All done");
  }

  async function recognise(item) {
    setState(item, "working");
    clearResult(item);
    item.result = null;
    refresh();
    const settings = currentSettings();
    const form = new FormData();
    form.append("image", item.file, item.name);
    form.append("det", settings.det ? "true" : "false");
    form.append("preprocess", settings.preprocess);
    form.append("paragraphs", "true"); // the layout's paragraphs, for the paragraphs view
    const answer = await postWithRetry("/ocr", form, item);
    if (!items.includes(item)) return;
    if (answer.ok) {
      item.result = answer.body;
      item.error = null;
      item.settings = settings;
      setState(item, "done");
      renderResult(item);
      saveHistory(item);
    } else {
      item.error = answer;
      setState(item, failedState(answer));
      renderError(item);
    }
    refresh();
  }

  /** The state of a file whose request failed: "offline" (the server could not be reached) and
   * "retry" (the server failed, was busy or too slow) are sent again by Start; "error" is a
   * refusal of the file itself, final. */
  function failedState(answer) {
    if (answer.status === 0) return "offline";
    if (answer.status >= 500 || answer.status === 408 || answer.status === 429) return "retry";
    return "error";
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
      if (serverUp !== false) serverDown();
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
    return { ok: false, status: 0, code: "network_error", message: err.message };
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
    const settings = currentSettings();
    item.settings = settings;
    const form = new FormData();
    form.append("file", item.file, item.name);
    form.append("det", settings.det ? "true" : "false");
    form.append("preprocess", settings.preprocess);
    form.append("preview", "true"); // each page's image is kept for the page view
    const answer = await postWithRetry("/jobs", form, item);
    if (!items.includes(item)) return;
    if (!answer.ok) {
      $(".job", item.card).hidden = true;
      const state = failedState(answer);
      const title = state === "error" ? "无法提交此文件 / This file was refused" : "未能提交 / Not submitted";
      fail(item, answer, title, state);
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
      // Each page is shown as soon as it is read (a failure here is tried again on the next poll).
      // The server reads all the pages saved to answer, so a long document's come in groups of
      // a tenth of those shown: the total work grows as n·log n, not n².
      const shown = pagesShown(item);
      const missing = info.pages_done - shown;
      if (info.state === "running" && missing > 0 && missing >= Math.floor(shown / 10)) {
        await fetchPages(item, job);
      }
      if (!following(item, job)) return;
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
    if (!answer.ok) toast(`取消失败 / Cancel failed: ${errorText(answer.code)}`);
  }

  function jobCancelled(item, job) {
    endJob(item, job);
    showJob(item, job);
    setJobLabel(
      item,
      `已取消，读了 ${job.pages_done} / ${job.pages_total} 页 — Cancelled after ${job.pages_done} of ${job.pages_total} pages`,
    );
    setState(item, "cancelled");
    if (!pagesShown(item)) $(".no-preview", item.card).textContent = "已取消，没有结果 / Cancelled: no result";
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

  function fail(item, answer, title, state = "error") {
    item.error = { ...answer, title };
    $(".no-preview", item.card).textContent = NO_PREVIEW;
    setState(item, state);
    renderError(item);
    refresh();
  }

  function pagesShown(item) {
    return isDocument(item.result) ? item.result.pages.length : 0;
  }

  /** The pages of the job read since those shown, added to the card's pages view: asked again
   * while the server says more are saved (it sends at most 100 at a time). */
  async function fetchPages(item, job) {
    let answer;
    do {
      answer = await fetchPagesOnce(item, job);
    } while (answer.ok && answer.body.more && item.job === job && items.includes(item));
    return answer;
  }

  /** One GET /jobs/{id}/pages?after=N (the document JSON's pages, at any state of the job). */
  async function fetchPagesOnce(item, job) {
    const shown = isDocument(item.result) ? item.result.pages : [];
    const after = shown.length ? shown[shown.length - 1].page : 0;
    const answer = await callApi(jobUrl(job, `/pages?after=${after}`));
    if (!answer.ok || item.job !== job || !items.includes(item)) return answer;
    const fresh = answer.body.pages.map(answerPage).filter((p) => p.page > after);
    if (!fresh.length) return answer;
    const file = (job.files || [])[0] || {};
    const first = !isDocument(item.result);
    if (first) {
      item.result = {
        success: true,
        job: job.id,
        kind: file.kind,
        page_count: file.page_count,
        time_ms: 0,
        cached: false,
        pages: [],
      };
    }
    const r = item.result;
    r.pages.push(...fresh);
    r.time_ms = r.pages.reduce((sum, p) => sum + p.time_ms, 0);
    addPages(item, r.pages.length - fresh.length, first);
    return answer;
  }

  /** The finished job: the pages not shown yet, then the downloads. */
  async function showJobResult(item, job) {
    endJob(item, job);
    setJobLabel(item, "载入结果… / Loading the result…");
    const answer = await fetchPages(item, job);
    if (item.job !== job || !items.includes(item)) return;
    if (!answer.ok) {
      showJob(item, job);
      fail(item, answer, "无法取得结果 / The result could not be fetched", failedState(answer) === "error" ? "error" : "retry");
      return;
    }
    if (!isDocument(item.result)) {
      const file = (job.files || [])[0] || {};
      item.result = { success: true, job: job.id, kind: file.kind, page_count: file.page_count, time_ms: 0, cached: false, pages: [] };
    }
    const first = item.result.pages.slice(0, PREFETCH_PAGES).map((_, i) => i);
    await inTurn(first, PREVIEW_FETCHES, (i) => loadPreview(item, i));
    if (item.job !== job || !items.includes(item)) return;
    item.error = null;
    showJob(item, job);
    $(".download-group", item.card).hidden = false;
    setState(item, "done");
    saveHistory(item);
    if (!item.result.pages.length) {
      $(".no-preview", item.card).textContent = "没有页面 / No pages";
      showNoPreview(item.card);
    }
    refresh();
    toast(`${item.name}：完成 / done`);
  }

  /** A page of the document JSON (blocks > paragraphs > rows > lines) as a page of POST /ocr's
   * document answer (its lines in reading order), which the page view and the exports read. */
  function answerPage(page) {
    const lines = [];
    const paragraphs = []; // the layout's: {kind, lines: the indexes of its lines}
    for (const block of page.blocks) {
      for (const paragraph of block.paragraphs) {
        const group = { kind: paragraph.kind, lines: [] };
        for (const row of paragraph.rows) {
          for (const line of row.lines) {
            group.lines.push(lines.length);
            lines.push({ text: line.text, score: line.score, box: line.box });
          }
        }
        paragraphs.push(group);
      }
    }
    return {
      page: page.number,
      text: lines.map((line) => line.text),
      lines,
      paragraphs,
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
        if (serverUp !== false) serverDown();
        toast(`下载失败 / Download failed: ${errorText(networkError(err).code)}`);
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
        toast(`下载失败 / Download failed: ${errorText(error.code)} (HTTP ${error.status} · ${error.code})`);
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
    $(".paras", card).replaceChildren();
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
    $(".lines-tools", card).hidden = !r.lines.length;
    applyZoom(item);
    renderParagraphs(item);
    applySearch(item);
  }

  // ---------------------------------------------------------------- paragraphs view

  // Lines or paragraphs: the paragraphs are the server's layout, a document's and an image's
  // alike (POST /ocr with paragraphs=true).
  const CJK = /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]/;

  /** Lines' texts as one: no space between two Chinese characters, a space otherwise. */
  function joinTexts(texts) {
    return texts.reduce((all, t) => {
      if (!all) return t;
      return all + (CJK.test(all.slice(-1)) && CJK.test(t.charAt(0)) ? "" : " ") + t;
    }, "");
  }

  function paragraphsOf(item) {
    const v = view(item);
    // the server's layout (documents; images asked with paragraphs=true); a result kept from
    // before the server gave them has one line a paragraph
    const groups = v.paragraphs || v.lines.map((_, i) => ({ kind: "text", lines: [i] }));
    return groups.map((g) => ({ ...g, text: joinTexts(g.lines.map((i) => v.lines[i].text)) }));
  }

  /** The paragraphs list (from the lines' texts now: corrections included), and which of the
   * two lists shows. */
  function renderParagraphs(item) {
    const card = item.card;
    const box = $(".paras", card);
    const mode = item.textView || "lines";
    for (const b of $$("[data-text-view]", card)) b.setAttribute("aria-pressed", String(b.dataset.textView === mode));
    const v = item.result ? view(item) : null;
    const on = mode === "paragraphs" && Boolean(v) && v.lines.length > 0;
    box.hidden = !on;
    $(".lines", card).hidden = on;
    if (!on) {
      box.replaceChildren();
      return;
    }
    const rows = paragraphsOf(item).map((para, k) => {
      const p = document.createElement("p");
      p.className = para.kind === "title" ? "para para-title" : "para";
      p.dataset.lines = para.lines.join(",");
      p.dataset.para = String(k);
      p.setAttribute("data-testid", "paragraph");
      p.tabIndex = k === 0 ? 0 : -1; // one tab stop, as the lines: the arrows move along
      p.textContent = para.text;
      return p;
    });
    const note = document.createElement("p");
    note.className = "paras-note";
    note.textContent = v.paragraphs
      ? `${rows.length} 段（版面分析）/ ${rows.length} paragraph${rows.length === 1 ? "" : "s"} (from the layout)`
      : `${rows.length} 行，没有版面信息 / ${rows.length} line${rows.length === 1 ? "" : "s"}, no layout for this result`;
    box.replaceChildren(note, ...rows);
  }

  /** Keys on a focused paragraph: Enter / Space choose it; the arrows, Home and End move. */
  function paraKey(item, p, event) {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      selectParagraph(item, p);
      return;
    }
    const shown = $$(".para", item.card).filter((el) => !el.hidden);
    const at = shown.indexOf(p);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: shown.length - 1 }[event.key];
    if (to === undefined || at < 0) return;
    event.preventDefault();
    const next = shown[Math.max(0, Math.min(shown.length - 1, to))];
    p.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  /** A paragraph chosen: its boxes highlighted (a second time: cleared). */
  function selectParagraph(item, p) {
    const card = item.card;
    const was = p.classList.contains("active");
    for (const el of $$(".active", card)) el.classList.remove("active");
    if (was) return;
    p.classList.add("active");
    const indexes = p.dataset.lines.split(",").map(Number);
    for (const i of indexes) {
      for (const el of $$(`[data-index="${i}"]`, card)) el.classList.add("active");
    }
    revealBox(item, indexes[0]);
  }

  // ---------------------------------------------------------------- search in the text

  /** Filter the lines to those holding the search box's text (any case), mark it in them and
   * light their boxes on the image; the others' boxes fade. An empty box shows every line. */
  function applySearch(item) {
    const card = item.card;
    const query = searchQuery(item);
    const v = item.result ? view(item) : null;
    const lines = v ? v.lines : [];
    const matches = [];
    for (const li of $$(".line", card)) {
      const i = Number(li.dataset.index);
      const text = lines[i] ? lines[i].text : "";
      const hit = Boolean(query) && text.toLowerCase().includes(query);
      if (hit) matches.push(i);
      li.hidden = Boolean(query) && !hit;
      li.classList.toggle("match", hit);
      if (!li.classList.contains("editing")) paintText($(".text", li), text, hit ? query : "");
    }
    for (const poly of $$(".overlay polygon", card)) {
      poly.classList.toggle("match", matches.includes(Number(poly.dataset.index)));
    }
    $(".overlay", card).classList.toggle("searching", Boolean(query));
    for (const p of $$(".para", card)) {
      const text = p.textContent;
      const hit = Boolean(query) && text.toLowerCase().includes(query);
      p.hidden = Boolean(query) && !hit;
      paintText(p, text, hit ? query : "");
    }
    item.matches = matches;
    item.matchAt = -1;
    // the list's tab stop on a line that is shown
    const stop = $('.line[tabindex="0"]', card);
    if (stop && stop.hidden && matches.length) focusLine(item, matches[0], false);
    const count = $(".search-count", card);
    if (!query) count.textContent = "";
    else if (!matches.length) count.textContent = "无匹配 / No match";
    else count.textContent = `${matches.length} 处 / ${matches.length} match${matches.length === 1 ? "" : "es"}`;
  }

  /** ``text`` in ``span``, each (case-insensitive) occurrence of ``query`` in a <mark>. */
  function paintText(span, text, query) {
    if (!query) {
      span.textContent = text;
      return;
    }
    const parts = [];
    const lower = text.toLowerCase();
    let at = 0;
    for (let i = lower.indexOf(query); i >= 0; i = lower.indexOf(query, at)) {
      if (i > at) parts.push(document.createTextNode(text.slice(at, i)));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(i, i + query.length);
      parts.push(mark);
      at = i + query.length;
    }
    if (at < text.length) parts.push(document.createTextNode(text.slice(at)));
    span.replaceChildren(...parts);
  }

  /** Enter in the search box: the next match (Shift+Enter: the one before) selected, its line
   * and its box brought into sight; Escape empties the box. */
  function searchKey(item, event) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.target.value = "";
      applySearch(item);
      return;
    }
    if (event.key !== "Enter" || !item.matches || !item.matches.length) return;
    event.preventDefault();
    const n = item.matches.length;
    const at = item.matchAt;
    item.matchAt = event.shiftKey ? (at <= 0 ? n - 1 : at - 1) : (at + 1) % n;
    const index = item.matches[item.matchAt];
    setActive(item, index, false, true);
    const li = $(`.line[data-index="${index}"]`, item.card);
    if (li) scrollListTo(li);
    $(".search-count", item.card).textContent = `第 ${item.matchAt + 1} / ${n} 处 — match ${item.matchAt + 1} of ${n}`;
  }

  /** Scroll the lines list (not the page) to show ``li``. */
  function scrollListTo(li) {
    const list = li.parentElement;
    const top = li.offsetTop - list.offsetTop;
    if (top < list.scrollTop) list.scrollTop = top - 6;
    else if (top + li.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = top + li.offsetHeight - list.clientHeight + 6;
    }
  }

  // ---------------------------------------------------------------- documents: pages

  function renderPages(item) {
    $(".thumbs", item.card).replaceChildren();
    addPages(item, 0, true);
  }

  /** The thumbnails of pages ``from`` on (0-based) added to the strip; on ``first``, the strip
   * shown and page 1 selected; later the page shown stays (pages fill in as they are read). */
  function addPages(item, from, first) {
    const card = item.card;
    const r = item.result;
    const count = r.pages.length;
    const meta = `${formatSize(item.file.size)} · 共 ${r.page_count} 页 / ${r.page_count} page${r.page_count === 1 ? "" : "s"}`;
    $(".file-meta", card).textContent =
      count === r.page_count ? meta : `${meta} · 已读 ${count} 页 / ${count} read`;
    $(".no-preview", card).textContent = NO_PREVIEW;
    const thumbs = r.pages.slice(from).map((page, k) => {
      const i = from + k;
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
    $(".thumbs", card).append(...thumbs);
    $(".pages", card).hidden = false;
    $("[data-action='copy-page']", card).hidden = false;
    if (first) selectPage(item, 0);
    else pageNav(item);
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
    pageNav(item);
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

  /** The page label and the previous / next buttons for the page shown of the pages read. */
  function pageNav(item) {
    const card = item.card;
    const pages = item.result.pages;
    const index = item.page;
    const page = pages[index];
    $(".page-label", card).textContent =
      `第 ${page.page} 页（${index + 1} / ${pages.length}）· Page ${page.page} (${index + 1} of ${pages.length})`;
    $("[data-action='page-prev']", card).disabled = index === 0;
    $("[data-action='page-next']", card).disabled = index === pages.length - 1;
  }

  function onCardKey(item, event) {
    if (event.target.classList && event.target.classList.contains("para")) {
      paraKey(item, event.target, event);
      return;
    }
    const li = event.target.classList && event.target.classList.contains("line") ? event.target : null;
    if (li) {
      lineKey(item, li, event);
      return;
    }
    if (!isDocument(item.result) || !event.target.closest(".pages")) return;
    const step = { ArrowLeft: -1, ArrowRight: 1, PageUp: -1, PageDown: 1 }[event.key];
    const jump = { Home: 0, End: item.result.pages.length - 1 }[event.key];
    if (step === undefined && jump === undefined) return;
    event.preventDefault();
    const onThumb = Boolean(event.target.closest(".thumb"));
    selectPage(item, jump !== undefined ? jump : item.page + step, onThumb);
  }

  /** Keys on a focused line: Enter / Space select it (as a click does: its box highlighted, a
   * second time cleared); the arrows, Home and End move along the list. The list is one tab
   * stop (a roving tabindex: only the line last focused, and its Copy button, can be tabbed to),
   * so a card of 461 lines is two tab stops, not 922. */
  function lineKey(item, li, event) {
    const index = Number(li.dataset.index);
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      setActive(item, index);
      return;
    }
    if (event.key === "F2") {
      event.preventDefault();
      startEdit(item, index);
      return;
    }
    // along the lines shown (a search hides the others)
    const shown = $$(".line", item.card).filter((el) => !el.hidden).map((el) => Number(el.dataset.index));
    const at = Math.max(0, shown.indexOf(index));
    const count = shown.length;
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: count - 1, PageDown: at + 10, PageUp: at - 10 }[event.key];
    if (to === undefined || !count) return;
    event.preventDefault();
    focusLine(item, shown[Math.max(0, Math.min(count - 1, to))]);
  }

  /** Make line ``index`` the list's tab stop (and focus it, unless ``focus`` is false). */
  function focusLine(item, index, focus = true) {
    const list = $(".lines", item.card);
    for (const el of $$('.line[tabindex="0"], .line .btn[tabindex="0"]', list)) el.tabIndex = -1;
    const li = $(`.line[data-index="${index}"]`, list);
    if (!li) return;
    li.tabIndex = 0;
    for (const button of $$(".btn", li)) button.tabIndex = 0;
    if (focus) li.focus();
  }

  function buildLine(line, i) {
    const li = document.createElement("li");
    li.className = "line";
    li.dataset.index = String(i);
    li.setAttribute("data-testid", "line");
    li.tabIndex = i === 0 ? 0 : -1;
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
    // a line's buttons: tab stops of the line that is the list's tab stop only
    const lineButton = (cls, action, label) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `btn btn-small ${cls}`;
      button.dataset.action = action;
      button.tabIndex = i === 0 ? 0 : -1;
      button.textContent = label;
      button.setAttribute("aria-label", `${label} · 第 ${i + 1} 行 / line ${i + 1}`); // the visible words first
      return button;
    };
    const copy = lineButton("copy", "copy-line", "复制 / Copy");
    const edit = lineButton("edit", "edit-line", "修改 / Edit");
    edit.title = "修改这一行的文字（F2 或双击）/ Correct this line's text (F2 or double-click)";
    const actions = document.createElement("span");
    actions.className = "line-actions";
    actions.append(copy, edit);
    li.append(idx, text, conf, actions);
    markCorrected(li, line);
    return li;
  }

  /** The error of a file: a title (what happened to the file), the code's meaning in both
   * languages, the server's own message (sizes in KB/MB), and the code. */
  function renderError(item) {
    const e = item.error;
    const box = $(".error-message", item.card);
    const title = document.createElement("strong");
    title.className = "error-title";
    title.textContent = e.title || titleFor(e);
    const meaning = document.createElement("span");
    meaning.className = "error-meaning";
    meaning.textContent = errorText(e.code);
    const parts = [title, meaning];
    if (e.message) {
      const detail = document.createElement("span");
      detail.className = "error-detail";
      detail.textContent = humanSizes(e.message);
      parts.push(detail);
    }
    const code = document.createElement("code");
    code.textContent = e.status === null ? `${e.code}` : e.status === 0 ? `${e.code}` : `HTTP ${e.status} · ${e.code}`;
    parts.push(code);
    box.replaceChildren(...parts);
    box.hidden = false;
  }

  function titleFor(e) {
    if (e.status === 0) return "未发送：服务器无法连接，可重试 / Not sent: the server could not be reached; press Start to retry";
    if (e.status >= 500 || e.status === 408 || e.status === 429) return "服务器未能完成，可重试 / The server did not finish it; press Start to retry";
    return "无法识别此文件 / This file was rejected";
  }

  /** "中文 / English" for an error code (the HTTP status for a code nobody mapped). */
  function errorText(code) {
    const known = ERROR_TEXT[code];
    if (known) return `${known[0]} / ${known[1]}`;
    const status = /^http_(\d+)$/.exec(code || "");
    return status ? `服务器错误 ${status[1]} / Server error ${status[1]}` : "未知错误 / Unknown error";
  }

  /** The server's messages count bytes ("the image is 23068672 bytes, over the limit of 20971520
   * bytes"): shown as KB/MB. */
  function humanSizes(text) {
    return String(text).replace(/\b(\d{4,}) bytes\b/g, (_, n) => formatSize(Number(n)));
  }

  // ---------------------------------------------------------------- viewer: zoom and pan

  // The image is shown at a scale of the answer's pixels (1 = one CSS pixel per pixel read); the
  // boxes are an SVG over it whose viewBox is those pixels, so they stay on their text at every
  // scale. Modes: "auto" (the width of the viewer, never enlarged), "width", "page" (fitted again
  // when the viewer's size changes) and "free" (a scale chosen with the buttons, wheel or pinch).
  const ZOOM_MIN = 0.05;
  const ZOOM_MAX = 8;
  const ZOOM_MAX_PX = 16000; // the image's longer side at most (a layer the browser can draw)
  const ZOOM_STEP = 1.25;

  /** The size of what the viewer shows, in the boxes' pixels: the image or page read, or the
   * image's own size before it is read; null while unknown. */
  function viewSize(item) {
    const v = item.result ? view(item) : null;
    if (v && v.width && v.height) return { w: v.width, h: v.height };
    const img = $(".image", item.card);
    return img.naturalWidth ? { w: img.naturalWidth, h: img.naturalHeight } : null;
  }

  /** The scales that fit the viewer's width, and its whole box (its largest height). */
  function fitScales(item, size) {
    const viewer = $(".viewer", item.card);
    const style = getComputedStyle(viewer);
    const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const maxH = parseFloat(style.maxHeight) || window.innerHeight * 0.75;
    const width = Math.max(40, viewer.clientWidth - padX) / size.w;
    return { width, page: Math.min(width, Math.max(40, maxH - padY) / size.h) };
  }

  /** The largest scale for an image of ``size``: 800 %, less for a very large page. */
  function maxZoom(size) {
    return size ? Math.min(ZOOM_MAX, Math.max(1, ZOOM_MAX_PX / Math.max(size.w, size.h))) : ZOOM_MAX;
  }

  function clampZoom(scale, size) {
    return Math.max(ZOOM_MIN, Math.min(maxZoom(size), scale));
  }

  /** Size the image (and so its boxes) for the item's zoom. */
  function applyZoom(item) {
    const card = item.card;
    const size = viewSize(item);
    const viewer = $(".viewer", card);
    if (!size || viewer.hidden || !viewer.clientWidth) return; // not shown (a list's closed row)
    const z = item.zoom;
    if (z.mode !== "free") {
      const fit = fitScales(item, size);
      z.scale = z.mode === "width" ? fit.width : z.mode === "page" ? fit.page : Math.min(1, fit.width);
    }
    z.scale = clampZoom(z.scale, size);
    const wrap = $(".image-wrap", card);
    wrap.style.width = `${size.w * z.scale}px`;
    wrap.style.height = `${size.h * z.scale}px`;
    card.dataset.scale = String(z.scale);
    $(".zoom-label", card).textContent = `${Math.round(z.scale * 100)}%`;
    $("[data-zoom='width']", card).setAttribute("aria-pressed", String(z.mode === "width"));
    $("[data-zoom='page']", card).setAttribute("aria-pressed", String(z.mode === "page"));
    $("[data-zoom='out']", card).disabled = z.scale <= ZOOM_MIN;
    $("[data-zoom='in']", card).disabled = z.scale >= maxZoom(size);
    const pannable = viewer.scrollWidth > viewer.clientWidth + 1 || viewer.scrollHeight > viewer.clientHeight + 1;
    viewer.classList.toggle("pannable", pannable);
  }

  /** Zoom to ``scale``, keeping the point of the image under (clientX, clientY) where it is (the
   * viewer's centre when no point is given). */
  function zoomAt(item, scale, clientX, clientY) {
    const viewer = $(".viewer", item.card);
    const wrap = $(".image-wrap", item.card);
    const box = viewer.getBoundingClientRect();
    const x = clientX === undefined ? box.left + viewer.clientWidth / 2 : clientX;
    const y = clientY === undefined ? box.top + viewer.clientHeight / 2 : clientY;
    const before = wrap.getBoundingClientRect();
    const fx = before.width ? (x - before.left) / before.width : 0.5;
    const fy = before.height ? (y - before.top) / before.height : 0.5;
    item.zoom = { mode: "free", scale: clampZoom(scale, viewSize(item)) };
    applyZoom(item);
    const after = wrap.getBoundingClientRect();
    viewer.scrollLeft += after.left + fx * after.width - x;
    viewer.scrollTop += after.top + fy * after.height - y;
  }

  function zoomButton(item, which) {
    if (which === "in") zoomAt(item, item.zoom.scale * ZOOM_STEP);
    else if (which === "out") zoomAt(item, item.zoom.scale / ZOOM_STEP);
    else {
      item.zoom = { mode: which, scale: item.zoom.scale };
      applyZoom(item);
    }
  }

  /** Ctrl+wheel (a touchpad's pinch) zooms at the pointer; the wheel alone scrolls; a mouse
   * drags the image around; two fingers pinch; + - 0 on the focused viewer. */
  function wireViewer(item, card) {
    const viewer = $(".viewer", card);
    viewer.addEventListener(
      "wheel",
      (e) => {
        if (!e.ctrlKey && !e.metaKey) return;
        e.preventDefault();
        const delta = e.deltaY * (e.deltaMode === 1 ? 16 : 1);
        zoomAt(item, item.zoom.scale * Math.exp(-delta * 0.002), e.clientX, e.clientY);
      },
      { passive: false },
    );
    const pointers = new Map();
    let drag = null;
    let pinch = null;
    let moved = false;
    viewer.addEventListener("pointerdown", (e) => {
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (e.pointerType === "mouse" && e.button === 0) {
        drag = { x: e.clientX, y: e.clientY, left: viewer.scrollLeft, top: viewer.scrollTop, id: e.pointerId };
        moved = false;
      } else if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        pinch = { dist: Math.hypot(a.x - b.x, a.y - b.y) || 1, scale: item.zoom.scale };
      }
    });
    viewer.addEventListener("pointermove", (e) => {
      if (pointers.has(e.pointerId)) pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pinch && pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        const dist = Math.hypot(a.x - b.x, a.y - b.y);
        zoomAt(item, (pinch.scale * dist) / pinch.dist, (a.x + b.x) / 2, (a.y + b.y) / 2);
        return;
      }
      if (!drag || drag.id !== e.pointerId) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!moved && Math.hypot(dx, dy) < 4) return;
      if (!moved) {
        moved = true;
        viewer.setPointerCapture(e.pointerId);
        viewer.classList.add("panning");
      }
      viewer.scrollLeft = drag.left - dx;
      viewer.scrollTop = drag.top - dy;
    });
    const end = (e) => {
      pointers.delete(e.pointerId);
      if (pointers.size < 2) pinch = null;
      if (drag && drag.id === e.pointerId) {
        drag = null;
        viewer.classList.remove("panning");
      }
    };
    viewer.addEventListener("pointerup", end);
    viewer.addEventListener("pointercancel", end);
    // a drag is not a click: it does not select the box it started on
    viewer.addEventListener(
      "click",
      (e) => {
        if (moved) {
          e.stopPropagation();
          moved = false;
        }
      },
      true,
    );
    viewer.addEventListener("keydown", (e) => {
      if (e.target !== viewer || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "+" || e.key === "=") zoomButton(item, "in");
      else if (e.key === "-" || e.key === "_") zoomButton(item, "out");
      else if (e.key === "0") zoomButton(item, "width");
      else return;
      e.preventDefault();
    });
    let lastWidth = 0;
    item.resize = new ResizeObserver(() => {
      if (viewer.clientWidth === lastWidth) return;
      lastWidth = viewer.clientWidth;
      if (item.zoom.mode !== "free") applyZoom(item);
    });
    item.resize.observe(viewer);
  }

  /** Scroll the viewer (never the page) so that box ``index`` is in sight. */
  function revealBox(item, index) {
    const viewer = $(".viewer", item.card);
    const poly = $(`polygon[data-index="${index}"]`, item.card);
    if (!poly || viewer.hidden) return;
    const box = poly.getBoundingClientRect();
    const port = viewer.getBoundingClientRect();
    const margin = 24;
    if (box.left < port.left + margin || box.right > port.left + viewer.clientWidth - margin) {
      viewer.scrollLeft += box.left + box.width / 2 - (port.left + viewer.clientWidth / 2);
    }
    if (box.top < port.top + margin || box.bottom > port.top + viewer.clientHeight - margin) {
      viewer.scrollTop += box.top + box.height / 2 - (port.top + viewer.clientHeight / 2);
    }
  }

  // ---------------------------------------------------------------- history (IndexedDB)

  // Each result read is kept in this browser (IndexedDB: nothing leaves it), with its image when
  // that is small enough, so that it survives a reload; the newest HISTORY.max results within
  // HISTORY.bytes are kept, the oldest dropped. A document's page images are not kept: they come
  // from its job on the server as long as the server keeps it.
  const HISTORY = { max: 50, bytes: 50 * 1024 * 1024, fileMax: 10 * 1024 * 1024 };
  const HISTORY_STORE = "results";
  let historyDb = null;

  function openHistoryDb() {
    if (!historyDb) {
      historyDb = new Promise((resolve) => {
        let req;
        try {
          req = indexedDB.open("cpuocr-history", 1);
        } catch {
          resolve(null); // no IndexedDB (a private window of some browsers): no history
          return;
        }
        req.onupgradeneeded = () => req.result.createObjectStore(HISTORY_STORE, { keyPath: "key", autoIncrement: true });
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => resolve(null);
        req.onblocked = () => resolve(null);
      });
    }
    return historyDb;
  }

  /** Run ``work(store)`` in one transaction; the result of the request it returns (null when
   * there is no history or the transaction failed). */
  async function historyTx(mode, work) {
    const db = await openHistoryDb();
    if (!db) return null;
    return new Promise((resolve) => {
      let out = null;
      let tx;
      try {
        tx = db.transaction(HISTORY_STORE, mode);
        const req = work(tx.objectStore(HISTORY_STORE));
        if (req) req.onsuccess = () => (out = req.result);
      } catch {
        resolve(null);
        return;
      }
      tx.oncomplete = () => resolve(out);
      tx.onerror = () => resolve(null);
      tx.onabort = () => resolve(null);
    });
  }

  async function historyEntries() {
    const all = (await historyTx("readonly", (store) => store.getAll())) || [];
    return all.sort((a, b) => b.time - a.time); // newest first
  }

  /** Keep ``item``'s result (again, after a correction) in the history. */
  async function saveHistory(item) {
    if (!item.result) return;
    const keepFile = !item.doc && !item.noFile && item.file.size <= HISTORY.fileMax;
    const entry = {
      name: item.name,
      time: item.savedAt || Date.now(),
      type: item.file.type,
      size: item.file.size,
      doc: item.doc,
      settings: item.settings,
      result: item.result,
      file: keepFile ? item.file : null,
      bytes: (keepFile ? item.file.size : 0) + 2 * JSON.stringify(item.result).length,
    };
    item.savedAt = entry.time;
    if (item.historyKey !== null) entry.key = item.historyKey;
    const key = await historyTx("readwrite", (store) => store.put(entry));
    if (key !== null) item.historyKey = key;
    await pruneHistory();
    renderHistory();
  }

  /** Drop the oldest entries past HISTORY.max or HISTORY.bytes. */
  async function pruneHistory() {
    const entries = await historyEntries();
    let bytes = 0;
    const drop = entries.filter((entry, i) => {
      bytes += entry.bytes || 0;
      return i >= HISTORY.max || (i > 0 && bytes > HISTORY.bytes);
    });
    if (!drop.length) return;
    await historyTx("readwrite", (store) => {
      for (const entry of drop) store.delete(entry.key);
    });
    for (const item of items) if (drop.some((e) => e.key === item.historyKey)) item.historyKey = null;
  }

  async function renderHistory() {
    const entries = await historyEntries();
    const panel = els.history;
    const first = panel.dataset.rendered !== "yes";
    panel.dataset.rendered = "yes";
    panel.hidden = !entries.length;
    $("#history-count").textContent = `(${entries.length})`;
    // a page opened with results kept from before shows them at once
    if (first && entries.length && !items.length) panel.open = true;
    const rows = entries.map((entry) => {
      const li = document.createElement("li");
      li.className = "history-entry";
      li.setAttribute("data-testid", "history-entry");
      const open = document.createElement("button");
      open.type = "button";
      open.className = "history-open";
      open.dataset.key = String(entry.key);
      const name = document.createElement("strong");
      name.textContent = entry.name;
      const meta = document.createElement("span");
      meta.className = "muted";
      const r = entry.result;
      const amount = isDocument(r)
        ? `${r.pages.length} 页 / pages`
        : `${r.lines.length} 行 / line${r.lines.length === 1 ? "" : "s"}`;
      meta.textContent = `${new Date(entry.time).toLocaleString()} · ${amount}`;
      open.append(name, meta);
      open.addEventListener("click", () => openFromHistory(entry.key));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-icon btn-small";
      remove.textContent = "×";
      remove.title = `从历史中删除 ${entry.name} / Remove ${entry.name} from the history`;
      remove.setAttribute("aria-label", remove.title);
      remove.addEventListener("click", async () => {
        await historyTx("readwrite", (store) => store.delete(entry.key));
        for (const item of items) if (item.historyKey === entry.key) item.historyKey = null;
        renderHistory();
      });
      li.append(open, remove);
      return li;
    });
    els.historyList.replaceChildren(...rows);
  }

  /** Show a kept result as a card (the one already shown, if it is). */
  async function openFromHistory(key) {
    const shown = items.find((it) => it.historyKey === key);
    if (shown) {
      shown.card.scrollIntoView({ block: "start", behavior: "smooth" });
      return;
    }
    const entry = await historyTx("readonly", (store) => store.get(key));
    if (!entry) {
      renderHistory();
      return;
    }
    const file = entry.file || new File([], entry.name, { type: entry.type });
    const item = newItem(file);
    item.name = entry.name;
    item.noFile = !entry.file;
    item.historyKey = entry.key;
    item.savedAt = entry.time;
    item.settings = entry.settings;
    item.result = entry.result;
    if (isDocument(entry.result) && entry.result.job) {
      item.job = { id: entry.result.job, state: "done", ended: true }; // its page images, while kept
    }
    if (item.noFile) {
      showNoPreview(item.card);
      $(".no-preview", item.card).textContent = "图像未保存在历史中 / The image is not kept in the history";
      $("[data-action='preview']", item.card).hidden = true;
    }
    $(".file-meta", item.card).textContent =
      `${formatSize(entry.size)} · 来自历史 ${new Date(entry.time).toLocaleString()} / from the history`;
    setState(item, "done");
    renderResult(item);
    refresh();
    item.card.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  async function clearHistory() {
    await historyTx("readwrite", (store) => store.clear());
    for (const item of items) item.historyKey = null;
    renderHistory();
    toast("历史已清除 / History cleared");
  }

  // ---------------------------------------------------------------- interaction

  function onCardClick(item, event) {
    const target = event.target;
    const actionEl = target.closest("[data-action], [data-export], [data-download], [data-zoom], [data-text-view]");
    if (actionEl) {
      const action = actionEl.dataset.action;
      if (actionEl.dataset.zoom) zoomButton(item, actionEl.dataset.zoom);
      else if (actionEl.dataset.textView) {
        item.textView = actionEl.dataset.textView;
        renderParagraphs(item);
        applySearch(item);
      }
      else if (actionEl.dataset.export) exportItems([item], actionEl.dataset.export);
      else if (actionEl.dataset.download) downloadResult(item, actionEl.dataset.download, actionEl);
      else if (action === "job-cancel") cancelJob(item);
      else if (action === "copy-all") copyText(allText([item]), "已复制全部 / Copied all lines");
      else if (action === "copy-page") copyText(view(item).text.join("\n"), "已复制本页 / Copied this page");
      else if (action === "page") selectPage(item, Number(actionEl.dataset.page));
      else if (action === "page-prev") selectPage(item, item.page - 1);
      else if (action === "page-next") selectPage(item, item.page + 1);
      else if (action === "expand") expandCard(item, !item.card.classList.contains("expanded"));
      else if (actionEl.dataset.action === "remove") removeItem(item);
      else if (actionEl.dataset.action === "preview") openPreview(item);
      else if (action === "edit-line") startEdit(item, Number(actionEl.closest(".line").dataset.index));
      else if (actionEl.dataset.action === "copy-line") {
        const li = actionEl.closest(".line");
        const line = view(item).lines[Number(li.dataset.index)];
        copyText(line.text, "已复制 / Copied");
        setActive(item, Number(li.dataset.index));
      }
      return;
    }
    if (target.closest(".line-edit")) return; // a click in the line being corrected
    const para = target.closest(".para");
    if (para) {
      selectParagraph(item, para);
      return;
    }
    const hit = target.closest(".line, polygon");
    if (hit && hit.dataset.index !== undefined) setActive(item, Number(hit.dataset.index), hit.tagName !== "LI");
  }

  // ---------------------------------------------------------------- correcting a line

  /** Correct line ``index`` in place (its Edit button, F2, a double-click on its text): Enter or
   * leaving the field keeps the text, Escape gives up. Copy and every export use the corrected
   * text; the JSON export keeps the recognised one as the line's "original"; the history too. */
  function startEdit(item, index) {
    const li = $(`.line[data-index="${index}"]`, item.card);
    const line = item.result && view(item).lines[index];
    if (!li || !line || li.classList.contains("editing")) return;
    const span = $(".text", li);
    const input = document.createElement("input");
    input.type = "text";
    input.className = "line-edit";
    input.setAttribute("data-testid", "line-edit");
    input.value = line.text;
    input.spellcheck = false;
    input.setAttribute("aria-label", `第 ${index + 1} 行的文字（Enter 保存，Esc 取消）/ Line ${index + 1}'s text (Enter keeps, Esc cancels)`);
    li.classList.add("editing");
    span.replaceChildren(input);
    input.focus();
    input.select();
    let finished = false;
    const finish = (keep) => {
      if (finished) return;
      finished = true;
      li.classList.remove("editing");
      if (keep) correctLine(item, index, input.value.trim());
      paintText(span, line.text, searchQuery(item));
      markCorrected(li, line);
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === "Escape") {
        event.preventDefault();
        finish(event.key === "Enter");
        li.focus(); // back on the line, for the keyboard
      }
      event.stopPropagation(); // the line's own keys are not for the field
    });
    input.addEventListener("blur", () => finish(true));
  }

  function correctLine(item, index, text) {
    const v = view(item);
    const line = v.lines[index];
    if (!text || text === line.text) return;
    if (line.original === undefined) line.original = line.text;
    line.text = text;
    v.text[index] = text;
    if (line.original === text) delete line.original; // back as it was read
    const title = $(`polygon[data-index="${index}"] title`, item.card);
    if (title) title.textContent = text;
    renderParagraphs(item);
    applySearch(item);
    saveHistory(item);
    toast("已修改 / Corrected");
  }

  /** A corrected line is marked, the recognised text in its tooltip. */
  function markCorrected(li, line) {
    const corrected = line.original !== undefined;
    li.classList.toggle("corrected", corrected);
    if (corrected) li.title = `已修改，识别结果是：${line.original} / Corrected; read as: ${line.original}`;
    else li.removeAttribute("title");
  }

  function searchQuery(item) {
    return $(".line-search", item.card).value.trim().toLowerCase();
  }

  function onHover(item, event, on) {
    const hit = event.target.closest(".line, polygon");
    if (!hit || hit.dataset.index === undefined) return;
    for (const el of $$(`[data-index="${hit.dataset.index}"]`, item.card)) el.classList.toggle("hover", on);
  }

  function setActive(item, index, scrollLine = false, keep = false) {
    const card = item.card;
    const already = $(`.line.active[data-index="${index}"]`, card);
    for (const el of $$(".active", card)) el.classList.remove("active");
    if (already && !keep) return; // a second click clears the highlight
    for (const el of $$(`[data-index="${index}"]`, card)) el.classList.add("active");
    const li = $(`.line[data-index="${index}"]`, card);
    if (scrollLine && li) li.scrollIntoView({ block: "nearest", behavior: "smooth" });
    else revealBox(item, index); // a line chosen in the list: its box brought into the viewer
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
    item.resize.disconnect();
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
    const unsent = items.filter((it) => it.state === "offline" || it.state === "retry").length;
    els.empty.hidden = n > 0;
    els.bulk.hidden = n === 0;
    els.start.disabled = running || !items.some(sendable);
    els.clear.disabled = running || n === 0;
    const files = items.some((it) => it.doc)
      ? [`${n} 个文件`, `${n} file${n === 1 ? "" : "s"}`]
      : [`${n} 张图片`, `${n} image${n === 1 ? "" : "s"}`];
    const retry = unsent ? [` · ${unsent} 待重试`, ` · ${unsent} to retry`] : ["", ""];
    els.summary.textContent = `${files[0]} · ${done} 完成 · ${failed} 失败${retry[0]} — ${files[1]} · ${done} done · ${failed} failed${retry[1]}`;
    for (const b of $$("[data-export-all], #copy-everything")) b.disabled = done === 0;
    showView();
    showProgress();
  }

  /** The run's overall progress: a bar pinned under the top bar, and "(done/total)" before the
   * tab's title while it runs (the title as it was once it has ended). */
  function showProgress() {
    const shown = batch ? batch.todo.filter((it) => items.includes(it)) : [];
    els.progress.hidden = shown.length < 2; // one file: its own card says how it goes
    if (shown.length < 2) {
      document.title = BASE_TITLE;
      return;
    }
    const total = shown.length;
    const finished = shown.filter((it) => it.state !== "pending" && it.state !== "working").length;
    const failed = shown.filter((it) => it.state === "error").length;
    const ended = batch.ended || finished === total;
    els.progress.dataset.state = ended ? "done" : "running";
    $("#progress-stop").hidden = ended || batch.stopped;
    $(".progress-fill", els.progress).style.width = `${Math.round((100 * finished) / total)}%`;
    els.progressBar.setAttribute("aria-valuemax", String(total));
    els.progressBar.setAttribute("aria-valuenow", String(finished));
    const fail = failed ? [`，${failed} 个失败`, `, ${failed} failed`] : ["", ""];
    els.progressLabel.textContent = ended && batch.stopped
      ? `已停止，完成 ${finished} / ${total}${fail[0]} — stopped, ${finished} of ${total} finished${fail[1]}`
      : ended
      ? `全部完成 ${finished} / ${total}${fail[0]} — all ${total} finished${fail[1]}`
      : `识别中 ${finished} / ${total}${fail[0]} — ${finished} of ${total} finished${fail[1]}`;
    document.title = ended ? BASE_TITLE : `(${finished}/${total}) ${BASE_TITLE}`;
  }

  /** Stop the run: the files not started yet stay for the next Start; documents being read are
   * cancelled (after their current page); the images being read now finish. */
  function stopRun() {
    if (!batch || batch.ended || batch.stopped) return;
    batch.stopped = true;
    batch.queue.length = 0;
    batch.todo = batch.todo.filter((it) => it.state !== "pending");
    for (const item of batch.todo) if (item.job && !item.job.ended) cancelJob(item);
    refresh();
  }

  /** Cards or a compact list (the user's choice; a list from LIST_FROM files on). */
  function showView() {
    const mode = chosenView || (items.length >= LIST_FROM ? "list" : "cards");
    els.results.dataset.view = mode;
    for (const b of $$(".view-toggle [data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === mode));
  }

  function expandCard(item, open) {
    item.card.classList.toggle("expanded", open);
    const button = $("[data-action='expand']", item.card);
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "收起 / Close" : "展开 / Open";
    if (open) applyZoom(item);
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
    // the mode the card was read with (else the menu's, else the server's own): /preprocess
    // answers what that mode did to this very image, and, for auto, what it decided and why
    const mode = (item.settings && item.settings.preprocess) || els.preprocess.value || limits.preprocess || "auto";
    els.previewCaption.textContent = `${item.name} — ${MODE_CAPTIONS[mode] || mode}. 点击放大 / Click one to enlarge it.`;
    els.previewActions.replaceChildren();
    showStages();
    const loading = document.createElement("p");
    loading.className = "loading";
    loading.textContent = "生成中… / Rendering stages…";
    els.stages.replaceChildren(loading);
    if (!els.dialog.open) els.dialog.showModal();
    const form = new FormData();
    form.append("image", item.file, item.name);
    form.append("preprocess", mode);
    const answer = await postWithRetry("/preprocess", form, null);
    if (!answer.ok) {
      const p = document.createElement("p");
      p.className = "error-message";
      p.setAttribute("data-testid", "preview-error");
      p.textContent = `${errorText(answer.code)} — ${humanSizes(answer.message)} (HTTP ${answer.status} · ${answer.code})`;
      els.stages.replaceChildren(p);
      return;
    }
    const figures = answer.body.stages.map((stage) => {
      const fig = document.createElement("figure");
      fig.className = "stage";
      fig.dataset.stage = stage.name;
      const label = STAGE_LABELS[stage.name] || stage.name;
      const img = document.createElement("img");
      img.src = `data:image/png;base64,${stage.image}`;
      img.alt = label;
      const open = document.createElement("button");
      open.type = "button";
      open.className = "stage-open";
      open.setAttribute("data-testid", "stage-open");
      open.setAttribute("aria-label", `放大 / Enlarge: ${label}`);
      open.append(img);
      open.addEventListener("click", () => enlargeStage(img.src, label, stage.width, stage.height));
      const cap = document.createElement("figcaption");
      const name = document.createElement("strong");
      name.textContent = label;
      const size = document.createElement("span");
      size.textContent = `${stage.width}×${stage.height}`;
      cap.append(name, size);
      fig.append(open, cap);
      return fig;
    });
    els.stages.replaceChildren(...figures);
    els.previewActions.replaceChildren(
      ...(answer.body.actions || []).map((text) => {
        const li = document.createElement("li");
        li.textContent = actionText(text);
        return li;
      }),
    );
  }

  /** One stage at its own size (a small one, e.g. a line's height, enlarged without blur). */
  function enlargeStage(src, label, width, height) {
    const img = $("#stage-large-img");
    const scale = Math.max(1, Math.min(8, Math.floor(320 / Math.max(1, Math.min(width, height)))));
    img.src = src;
    img.alt = label;
    img.style.width = `${width * scale}px`;
    img.style.height = `${height * scale}px`;
    img.classList.toggle("pixelated", scale > 1);
    $("#stage-large-name").textContent = label;
    $("#stage-large-size").textContent = `${width}×${height}${scale > 1 ? ` · ×${scale}` : ""}`;
    els.stages.hidden = true;
    $("#stage-large").hidden = false;
    $("#stage-back").focus();
  }

  function showStages() {
    $("#stage-large").hidden = true;
    els.stages.hidden = false;
  }

  // ---------------------------------------------------------------- helpers

  function tag(text, extra = "") {
    const span = document.createElement("span");
    span.className = `tag ${extra}`.trim();
    span.textContent = text;
    return span;
  }

  /** A size in B, KB or MB (1024-based, as the server's limits: 20 MB is 20 × 1024 × 1024 bytes),
   * one decimal unless it is whole. */
  function formatSize(n) {
    const unit = n < 1024 ? [1, "B"] : n < 1024 * 1024 ? [1024, "KB"] : [1024 * 1024, "MB"];
    const value = n / unit[0];
    const shown = Number.isInteger(value) ? String(value) : value.toFixed(1);
    return `${shown} ${unit[1]}`;
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
  // Other settings after Done: Start reads those files again with them.
  els.det.addEventListener("change", () => {
    els.detHint.hidden = els.det.checked;
    refresh();
  });
  els.preprocess.addEventListener("change", refresh);
  // The key brings /readyz's configuration: the server's limits.
  els.apiKey.addEventListener("change", checkServer);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) checkServer();
  });
  window.addEventListener("online", checkServer);
  els.clear.addEventListener("click", clearAll);
  for (const button of $$("[data-export-all]")) {
    button.addEventListener("click", () => exportItems(items, button.dataset.exportAll));
  }
  $("#copy-everything").addEventListener("click", () =>
    copyText(allText(items), "已复制全部 / Copied all lines"),
  );
  $("#preview-close").addEventListener("click", () => els.dialog.close());
  $("#stage-back").addEventListener("click", showStages);
  els.dialog.addEventListener("cancel", (e) => {
    if ($("#stage-large").hidden) return;
    e.preventDefault(); // Escape on an enlarged stage: back to all of them
    showStages();
  });
  els.dialog.addEventListener("click", (e) => {
    if (e.target === els.dialog) els.dialog.close(); // a click on the backdrop
  });

  // For tests and power users: the state, read-only.
  window.cpuocr = { items, addFiles, startAll, limits, errorCodes: Object.keys(ERROR_TEXT), history: HISTORY };

  $("#history-clear").addEventListener("click", clearHistory);
  $("#progress-stop").addEventListener("click", stopRun);
  for (const button of $$(".view-toggle [data-view]")) {
    button.addEventListener("click", () => {
      chosenView = button.dataset.view;
      localStorage.setItem("cpuocr-view", chosenView);
      showView();
      for (const item of items) applyZoom(item);
    });
  }
  // the progress bar sticks just under the top bar, whatever its height
  const topbar = $(".topbar");
  new ResizeObserver(() => {
    document.documentElement.style.setProperty("--topbar-h", `${topbar.offsetHeight}px`);
  }).observe(topbar);

  refresh();
  checkServer();
  renderHistory();
})();
