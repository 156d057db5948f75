// The playground page: talks to /api/command and listens on /api/events (Server-Sent Events).
const $ = (id) => document.getElementById(id);
const trainJobs = new Set();
let chosen = [];

const rid = () => crypto.randomUUID().replaceAll('-', '');

// Page labels in the browser's language (English or Simplified Chinese); bot replies are
// translated by the server from Accept-Language or the user's /settings.
const ZH = {
  lead: '为你生成多种风格的写真——在本机运行，命令与 Telegram 和 Discord 机器人相同。',
  privacy: '隐私',
  loading: '正在加载隐私说明…',
  accept: '我同意',
  revoke: '撤回并删除全部数据',
  photos: '你的照片',
  photosHint: '1–20 张本人照片：单人、脸部端正、清晰、睁眼、光线均匀。',
  drop: '把照片拖到这里，或点击选择文件',
  check: '检查我的照片',
  portraits: '写真',
  style: '风格',
  count: '数量',
  seed: '种子',
  make: '生成写真',
  progress: '进度',
  noJobs: '还没有任务。',
  results: '结果',
  noResults: '你的结果会显示在这里。',
  conversation: '对话',
  send: '发送',
  accepted: '✓ 已同意',
  download: '下载',
  noStyles: '没有安装风格包',
  gone: '这张图片已不再保存（服务器会在一段时间后删除文件）。',
};
const zh = navigator.language.toLowerCase().startsWith('zh');
const L = (key, en) => (zh ? (ZH[key] ?? en) : en);
if (zh) {
  document.documentElement.lang = 'zh-CN';
  for (const e of document.querySelectorAll('[data-i18n]'))
    e.textContent = ZH[e.dataset.i18n] ?? e.textContent;
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// A picture the server no longer stores (deleted by its retention, or by the user): say so
// instead of showing a broken image.
function picture(src, alt) {
  const img = el('img', { src, alt });
  img.onerror = () =>
    img.replaceWith(
      el('span', {
        className: 'gone',
        textContent: L('gone', 'This picture is no longer stored (the server deletes files after a while).'),
      }),
    );
  return img;
}

function buttonsRow(rows) {
  if (!rows?.length) return null;
  const row = el('div', { className: 'row' });
  for (const r of rows)
    for (const b of r)
      row.append(
        el('button', { textContent: b.label, className: b.style ?? '', onclick: () => press(b.id) }),
      );
  return row;
}

function logBubble(text, who = 'bot', extra = {}) {
  const b = el('div', { className: `bubble ${who}${extra.error ? ' error' : ''}` }, text);
  if (extra.images?.length) {
    const t = el('div', { className: 'thumbs' });
    for (const src of extra.images) t.append(picture(src, 'image'));
    b.append(t);
  }
  const btns = buttonsRow(extra.buttons);
  if (btns) b.append(btns);
  $('log').append(b);
  $('log').scrollTop = $('log').scrollHeight;
}

async function send(body, files = []) {
  const requestId = rid();
  let res;
  if (files.length) {
    const form = new FormData();
    form.append('requestId', requestId);
    for (const [k, v] of Object.entries(body)) form.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    for (const f of files) form.append('file', f, f.name);
    res = await fetch('/api/command', { method: 'POST', body: form });
  } else {
    res = await fetch('/api/command', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestId, ...body }),
    });
  }
  const reply = await res.json();
  if (!res.ok) {
    logBubble(reply.message ?? `Request failed (${res.status}).`, 'bot', { error: true });
    return reply;
  }
  if (!reply.duplicate) logBubble(reply.text, 'bot', reply);
  if (reply.jobId) jobBar(reply.jobId, reply.text, 'waiting', 0);
  return reply;
}

async function press(id) {
  const reply = await send({ button: id });
  if (id.startsWith('consent:')) await refreshConsent(reply);
}

async function refreshConsent(lastReply) {
  const r = lastReply?.text?.includes('Privacy') || lastReply?.text?.includes('隐私') ? lastReply : null;
  if (r) $('consent-text').textContent = r.text;
  const accepted = /Thank you|accepted version|谢谢|已同意/.test(lastReply?.text ?? '');
  $('consent-state').textContent = accepted ? L('accepted', '✓ Accepted') : '';
  $('train').disabled = !chosen.length;
}

function jobBar(jobId, text, state, percent) {
  $('no-jobs')?.remove();
  let row = document.querySelector(`[data-job="${jobId}"]`);
  if (!row) {
    row = el(
      'div',
      { className: 'job' },
      el('div', { className: 'label' }),
      el('div', { className: 'bar' }, el('i')),
    );
    row.dataset.job = jobId;
    $('jobs').prepend(row);
  }
  row.className = `job ${state}`;
  row.querySelector('.label').textContent = text;
  row.querySelector('.bar > i').style.width = `${Math.max(2, percent)}%`;
}

function showDelivery(ev) {
  logBubble(ev.text, 'bot', ev);
  if (ev.jobId && trainJobs.has(ev.jobId)) {
    const rep = $('report');
    rep.hidden = false;
    rep.className = `report${ev.error ? ' error' : ''}`;
    rep.replaceChildren(ev.text);
    if (ev.images?.length) {
      const t = el('div', { className: 'thumbs' });
      for (const src of ev.images) t.append(picture(src, 'accepted face crop'));
      rep.append(t);
    }
    return;
  }
  if (!ev.images?.length && !ev.video) return;
  $('no-results')?.remove();
  for (const [i, src] of (ev.images ?? []).entries()) {
    $('results').append(
      el(
        'figure',
        {},
        picture(src, `result ${i + 1}`),
        el(
          'figcaption',
          {},
          el('a', { href: src, download: `portrait-${i + 1}.jpg`, textContent: L('download', 'Download') }),
        ),
      ),
    );
  }
  if (ev.video) $('results').append(el('figure', {}, el('video', { src: ev.video, controls: true })));
}

function connect() {
  const es = new EventSource('/api/events');
  es.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev.type === 'progress') jobBar(ev.jobId, ev.text, ev.state, ev.percent ?? 0);
    else if (ev.type === 'delivery') {
      if (ev.jobId && ev.error) jobBar(ev.jobId, ev.text, 'failed', 100);
      showDelivery(ev);
    }
  };
}

function choose(files) {
  chosen = [...files].filter((f) => f.type.startsWith('image/')).slice(0, 20);
  $('thumbs').replaceChildren(...chosen.map((f) => el('img', { src: URL.createObjectURL(f), alt: f.name })));
  $('train').disabled = !chosen.length;
}

async function loadStyles() {
  const { styles } = await (await fetch('/api/styles')).json();
  const sel = $('style');
  if (!styles.length) {
    sel.append(el('option', { value: '', textContent: L('noStyles', 'No style packs installed') }));
    sel.disabled = true;
    return;
  }
  for (const s of styles) sel.append(el('option', { value: s.id, textContent: s.name }));
}

$('files').addEventListener('change', (e) => choose(e.target.files));
const dz = $('dropzone');
dz.addEventListener('dragover', (e) => {
  e.preventDefault();
  dz.classList.add('over');
});
dz.addEventListener('dragleave', () => dz.classList.remove('over'));
dz.addEventListener('drop', (e) => {
  e.preventDefault();
  dz.classList.remove('over');
  choose(e.dataTransfer.files);
});
$('accept').onclick = () => press('consent:accept');
$('revoke').onclick = () => press('consent:revoke');
$('train').onclick = async () => {
  logBubble(`/train (${chosen.length} photo${chosen.length === 1 ? '' : 's'})`, 'me');
  const reply = await send({ command: 'train' }, chosen);
  if (reply.jobId) trainJobs.add(reply.jobId);
  const rep = $('report');
  rep.hidden = false;
  rep.className = 'report';
  rep.textContent = reply.text ?? '';
};
$('portrait').onclick = () => {
  const options = { count: $('count').value };
  if ($('style').value) options.style = $('style').value;
  if ($('seed').value) options.seed = $('seed').value;
  logBubble(`/portrait ${options.style ?? ''} count=${options.count}`, 'me');
  return send({ command: 'portrait', options });
};
$('cmd-form').onsubmit = (e) => {
  e.preventDefault();
  const text = $('cmd').value.trim();
  if (!text) return;
  logBubble(text, 'me');
  $('cmd').value = '';
  send({ text: text.startsWith('/') ? text : `/${text}` });
};

connect();
loadStyles();
send({ command: 'consent' }).then((r) => refreshConsent(r));
