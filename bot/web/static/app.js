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
  prompt: '你的描述（可选）',
  pose: '姿势图（可选）',
  more: '更多',
  template: '放进模板照片',
  face: '第几张脸（从左数；留空则用最大的）',
  templateGo: '放入我的脸',
  tryon: '试穿衣服',
  tryonGo: '试穿',
  talk: '让它说话',
  talkText: '你的写真要说什么？',
  talkAudio: '……或一段录音',
  talkGo: '生成视频',
  mystyle: '你自己的风格（LoRA）',
  mystyleName: '名称',
  mystyleGo: '上传',
  noPreview: '暂无预览图',
  reveal: '已被安全检查模糊处理，点击查看',
};
const zh = navigator.language.toLowerCase().startsWith('zh');
const L = (key, en) => (zh ? (ZH[key] ?? en) : en);
if (zh) {
  document.documentElement.lang = 'zh-CN';
  for (const e of document.querySelectorAll('[data-i18n]'))
    e.textContent = ZH[e.dataset.i18n] ?? e.textContent;
  for (const e of document.querySelectorAll('[data-i18n-placeholder]'))
    e.placeholder = ZH[e.dataset.i18nPlaceholder] ?? e.placeholder;
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// A picture the server no longer stores (deleted by its retention, or by the user): say so
// instead of showing a broken image.
function picture(src, alt, spoiler = false) {
  const img = el('img', { src, alt });
  if (spoiler) {
    img.className = 'spoiler';
    img.title = L('reveal', 'Blurred by the safety check: click to see');
    img.onclick = () => img.classList.remove('spoiler');
  }
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
    for (const [i, src] of extra.images.entries())
      t.append(picture(src, extra.captions?.[i] ?? 'image', extra.spoilers?.includes(i)));
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

function jobBar(jobId, text, state, percent, preview) {
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
  // The picture being made, while it is made; gone once the job ends.
  let img = row.querySelector('img.job-preview');
  if (preview && state === 'active') {
    if (!img) {
      img = el('img', { className: 'job-preview', alt: 'preview' });
      row.append(img);
    }
    img.src = preview;
  } else if (state !== 'active') img?.remove();
}

function showDelivery(ev) {
  logBubble(ev.text, 'bot', ev);
  if (ev.jobId && trainJobs.has(ev.jobId)) {
    const rep = $('report');
    rep.hidden = false;
    rep.className = `report${ev.error ? ' error' : ''}`;
    rep.replaceChildren(ev.text);
    // The contact sheet (every photo with a tick or a cross); older reports sent the accepted crops.
    if (ev.images?.length === 1) {
      const sheet = picture(ev.images[0], 'photo report');
      sheet.classList.add('sheet');
      rep.append(sheet);
    } else if (ev.images?.length) {
      const t = el('div', { className: 'thumbs' });
      for (const src of ev.images) t.append(picture(src, 'accepted face crop'));
      rep.append(t);
    }
    return;
  }
  if (!ev.images?.length && !ev.video) return;
  $('no-results')?.remove();
  for (const [i, src] of (ev.images ?? []).entries()) {
    const caption = ev.captions?.[i];
    $('results').append(
      el(
        'figure',
        {},
        picture(src, caption ?? `result ${i + 1}`, ev.spoilers?.includes(i)),
        el(
          'figcaption',
          {},
          caption ? el('span', { className: 'likeness', textContent: caption }) : null,
          el('a', { href: src, download: `portrait-${i + 1}.png`, textContent: L('download', 'Download') }),
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
    if (ev.type === 'progress') jobBar(ev.jobId, ev.text, ev.state, ev.percent ?? 0, ev.preview);
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

// The style gallery: each pack's preview picture (or a plain "no preview yet"), name and line.
async function loadStyles() {
  const { styles } = await (await fetch('/api/styles')).json();
  const sel = $('style');
  if (!styles.length) {
    sel.append(el('option', { value: '', textContent: L('noStyles', 'No style packs installed') }));
    sel.disabled = true;
    return;
  }
  for (const s of styles) sel.append(el('option', { value: s.id, textContent: s.name }));
  const choose = (id) => {
    sel.value = id;
    for (const t of document.querySelectorAll('.style-tile'))
      t.classList.toggle('chosen', t.dataset.id === id);
  };
  for (const s of styles) {
    const tile = el(
      'button',
      {
        type: 'button',
        className: 'style-tile',
        title: s.description ?? s.name,
        onclick: () => choose(s.id),
      },
      s.preview
        ? el('img', { className: 'style-pic', src: s.preview, alt: s.name })
        : el('span', { className: 'style-pic no-preview', textContent: L('noPreview', 'No preview yet') }),
      el('b', { textContent: s.name }),
      s.description ? el('small', { textContent: s.description }) : null,
    );
    tile.dataset.id = s.id;
    $('gallery').append(tile);
  }
  sel.onchange = () => choose(sel.value);
  choose(sel.value);
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
  if ($('prompt').value.trim()) options.prompt = $('prompt').value.trim();
  const pose = [...$('pose').files];
  logBubble(
    `/portrait ${options.style ?? ''} count=${options.count}${options.prompt ? ` ${options.prompt}` : ''}`,
    'me',
  );
  return send({ command: 'portrait', options }, pose);
};
// What the chats offer besides portraits, as forms: each sends the same command with its files.
function tool(form, command, build) {
  $(form).onsubmit = (e) => {
    e.preventDefault();
    const { options, files, said } = build();
    logBubble(said, 'me');
    return send({ command, options }, files);
  };
}
tool('template-form', 'template', () => {
  const face = $('template-face').value;
  return {
    options: face ? { face } : {},
    files: [...$('template-photo').files],
    said: `/template${face ? ` face=${face}` : ''}`,
  };
});
tool('tryon-form', 'tryon', () => ({ options: {}, files: [...$('tryon-photo').files], said: '/tryon' }));
tool('talk-form', 'talk', () => {
  const text = $('talk-text').value.trim();
  const files = [...$('talk-audio').files];
  return { options: text && !files.length ? { text } : {}, files, said: `/talk ${text}`.trim() };
});
tool('mystyle-form', 'mystyle', () => {
  const name = $('mystyle-name').value.trim();
  return {
    options: { action: 'upload', ...(name ? { name } : {}) },
    files: [...$('mystyle-file').files],
    said: '/mystyle upload',
  };
});
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
