/** English messages. Keys are stable; {name} marks a parameter. zh-CN must have every key. */
/** What a usable photo looks like; reused by the rejection reasons below. */
const GOOD_PHOTO =
  'A good photo shows one person, face towards the camera, eyes open, in focus, with the face at least ' +
  'a fifth of the photo wide (a head-and-shoulders shot).';

export const en = {
  'cmd.start': 'What this bot does and how to begin',
  'cmd.help': 'Guide to good photos and all commands',
  'cmd.consent': 'Privacy text: accept or revoke',
  'cmd.train': 'Send 1-20 photos of yourself to build your identity',
  'cmd.portrait': 'Make portraits in a style',
  'cmd.styles': 'Browse the installed style packs',
  'cmd.template': 'Put your face into a template photo',
  'cmd.tryon': 'Try on a garment from a photo',
  'cmd.talk': 'Make a result speak (text or audio)',
  'cmd.status': 'Your jobs: position, stage, progress',
  'cmd.cancel': 'Cancel one of your jobs',
  'cmd.settings': 'Language, default style, private delivery',
  'cmd.forget': 'Delete everything the bot stores about you',
  'cmd.group': 'Group theme, group photo, group picture',

  // Option descriptions in menus (commands/kit/options.ts).
  'opt.settings.language': 'Language',
  'opt.settings.style': 'Default style',
  'opt.settings.private': 'Deliver results by direct message',
  'opt.cancel.id': 'Job id (all your jobs when empty)',
  'opt.styles.page': 'Page (from 0)',
  'opt.template.count': 'How many (1-6)',
  'opt.template.photo': 'The template photo',
  'opt.tryon.garment': 'A photo of the garment',
  'opt.tryon.background': 'Background: keep, studio, gradient or photo',
  'opt.tryon.backdrop': 'A background photo (optional)',
  'opt.consent.action': 'Show, accept or revoke',
  'opt.train.photo': 'A clear photo of your face',
  'opt.train.photo_more': 'Photo {n} (optional)',
  'opt.group.action': 'What to do',
  'opt.group.arg': 'Style id (style) or result id (picture)',
  'opt.group.template': 'Group template photo (photo; else the last one)',
  'opt.mystyle.action': 'List, upload or delete',
  'opt.mystyle.arg': 'Style id (delete)',
  'opt.mystyle.name': 'Name for the uploaded style',
  'opt.mystyle.lora': 'An SD 1.5 style LoRA (.safetensors)',
  'opt.portrait.style': 'Style pack',
  'opt.portrait.count': 'How many portraits (1-6)',
  'opt.portrait.seed': 'Seed for repeatable results',
  'opt.portrait.pose': 'Optional pose image',
  'opt.talk.result': 'Result id to animate (see /status)',
  'opt.talk.text': 'Text to speak',
  'opt.talk.voice': 'Voice name',
  'opt.talk.audio': 'Or a voice message / audio file',
  'opt.talk.rate': 'Speaking rate, e.g. +10% or -20%',
  'opt.talk.pitch': 'Pitch, e.g. +5Hz or -10Hz',
  'opt.talk.note': 'Send it as a round video note (Telegram)',

  'start.text':
    'Hello! I make portraits of you in many styles (FaceChain).\n' +
    '1. /consent — read and accept the privacy text (nothing is stored before).\n' +
    '2. /train — send 1-20 clear photos of your face.\n' +
    '3. /portrait — choose a style and get your portraits.\n' +
    'Use /help for tips on good photos.',
  'help.text':
    'Good photos: one person, face clearly visible and upright, eyes open, sharp, evenly lit, ' +
    'no sunglasses or heavy filters; different angles and expressions help.\n\n' +
    'Commands:\n{commands}',
  'consent.text':
    'Privacy notice (version {version})\n' +
    '• What is stored: the photos you send, face crops and face embeddings made from them, your ' +
    'personal model (LoRA) if one is trained, and the results you ask for.\n' +
    '• How long: {how_long}\n' +
    '• Outside services: your chat platform delivers the messages; speech synthesis (if you use ' +
    '/talk with text) may use a configured text-to-speech service. Nothing is sold or used for training.\n' +
    '• Deleting: /forget deletes everything at once; revoking consent does the same.\n' +
    'Only send photos of yourself.',
  'consent.kept_until_deleted':
    'until you delete them. /forget (or revoking consent) erases your photos, face crops, embeddings, ' +
    'personal models and results at once.',
  'consent.kept_for':
    'the photos you send and your results are deleted automatically {age} after they were stored ' +
    '(later only while a request of yours still needs them); the face crops, embeddings and personal ' +
    'model of your saved identity stay until you delete them. /forget (or revoking consent) erases ' +
    'everything at once.',
  'consent.accept': 'I accept',
  'consent.revoke': 'Revoke and delete',
  'consent.accepted': 'Thank you. You can now send photos with /train.',
  'consent.revoked': 'Consent revoked. Deleted: {removed}.',
  'consent.required': 'Please read and accept the privacy text first:',
  'consent.already': 'You accepted version {version} of the privacy text.',

  'train.need_photos': 'Send 1 to 20 photos of yourself (as photos, an album, or image files) with /train.',
  'train.too_many': 'You sent {count} photos; the limit is 20. Send at most 20.',
  'train.too_big':
    '"{name}" is {size} MB; files up to {limit} MB can be downloaded here. Send a smaller image.',
  'train.not_image': '"{name}" is not an image. Send JPEG, PNG or WebP photos.',
  'train.private_only':
    'For your privacy, send your photos to me in a private chat (direct message), not in a group.',
  'train.queued':
    'Got {count, plural, one {# photo} other {# photos}}. Checking them now — I will report on each photo.',
  'train.progress': 'Preparing your identity',
  'train.duplicate': 'These photos are already being processed.',

  'portrait.no_identity': 'You have no identity yet. Send photos with /train first.',
  'portrait.unknown_style': 'There is no style "{style}". See /styles for the installed ones.',
  'portrait.identity_busy': 'Your photos are still being checked. Wait for the report, then try again.',
  'portrait.deleted_n': 'Deleted {count, plural, one {# image} other {# images}} of that result.',
  'portrait.deleted': 'That result is gone.',
  'portrait.one_pose': 'Send one pose image (an OpenPose skeleton picture) with /portrait, not several.',
  'portrait.no_styles': 'No style packs are installed on this deployment.',
  'portrait.queued': 'Making {count, plural, one {# portrait} other {# portraits}} in style "{style}".',
  'portrait.progress': 'Portraits',
  'portrait.reroll': 'Reroll',
  'portrait.more': 'More like this',
  'portrait.animate': 'Animate',
  'portrait.tryon': 'Try on',
  'portrait.delete': 'Delete',

  'styles.none': 'No style packs are installed on this deployment.',
  'styles.page': 'Styles {from}-{to} of {total}:',
  'styles.choose': 'Make portraits in…',
  'talk.modal_title': 'Make it talk',
  'talk.modal_label': 'What should the portrait say?',
  'styles.prev': '◀ Previous',
  'styles.next': 'Next ▶',

  'template.need_photo': 'Send the template photo with /template (one image).',
  'template.queued': 'Putting your face into the template.',
  'tryon.need_photo': 'Send a photo of the garment with /tryon (one image).',
  'tryon.queued': 'Trying on the garment.',
  'talk.need_input': 'Give a text to speak, or send a voice message or audio file with /talk.',
  'talk.no_result': 'There is no finished result {id} of yours. Use a result id from /status.',
  'talk.queued': 'Making the talking video.',
  'talk.text_too_long': 'The text is {length} characters; at most {max} can be spoken. Send a shorter text.',
  'talk.no_portrait':
    'There is no portrait of you to animate yet. Make one with /portrait (or send photos of yourself first).',
  'files.result_expired':
    "That result's pictures were deleted after {age}, as this server keeps files; make a new one with /portrait.",
  'files.result_expired_delete':
    "That result's pictures were already deleted after {age}, as this server keeps files.",
  'files.age_days': '{n, plural, one {# day} other {# days}}',
  'files.age_hours': '{n, plural, one {# hour} other {# hours}}',

  'job.analyze': 'Photo analysis',
  'job.prepare-identity': 'Photo check',
  'job.train-lora': 'Face model training',
  'job.generate': 'Portraits',
  'job.try-on': 'Try-on',
  'job.talk': 'Talking portrait',
  'job.deliver': 'Delivery',
  'status.none': 'You have no jobs.',
  'status.line': '{name} — {state}{detail}',
  'status.waiting': 'waiting',
  'status.active': 'running',
  'status.completed': 'done',
  'status.failed': 'failed',
  'status.cancelled': 'cancelled',
  'status.unknown': 'unknown',
  'status.position': ', position {position}',
  'status.percent': ', {stage} {percent}%',
  'status.eta': ', about {eta} left',

  'cancel.none': 'You have no running or waiting jobs.',
  'cancel.done': 'Cancelled {count, plural, one {# job} other {# jobs}}.',
  'cancel.not_found': 'No job {id} of yours is waiting or running.',

  'settings.show': 'Language: {locale}\nDefault style: {style}\nPrivate delivery: {private}',
  'settings.saved': 'Settings saved.',
  'settings.unset': '(none)',
  'settings.yes': 'yes',
  'settings.no': 'no',

  'forget.confirm':
    'This deletes your photos, identities, personal models, results and jobs. It cannot be undone.',
  'forget.yes': 'Delete everything',
  'forget.done': 'Deleted: {removed}. Nothing about you is kept.',
  'forget.nothing': 'nothing was stored',

  'group.only_groups': 'This command works in groups only.',
  'group.not_admin': 'Only group administrators can change the group theme or picture.',
  'group.theme_set': 'Group theme set to "{style}". New members will be invited to make an avatar in it.',
  'group.theme_cleared': 'Group theme cleared.',
  'group.theme_show': 'Group theme: {style}. Members opted in to group photos: {count}.',
  'group.invite':
    'Welcome, {name}! This group has the portrait theme "{style}". Make your avatar in it: start with /consent, then /train.',
  'group.opt_in': 'You are in the next group photo.',
  'group.opt_out': 'You are out of group photos.',
  'group.photo_few':
    'A group photo needs at least 2 members who opted in with "/group join"; there are {count}.',
  'group.photo_queued': 'Composing a group photo of {count} members.',
  'group.picture_set': 'Group picture set from that result.',
  'group.no_result': 'Give the id of one of your completed results.',

  'progress.line': '{label}: {stage} {percent}%',
  'progress.waiting': '{label}: waiting, number {position} in line',
  'progress.done': '{label}: done',
  'progress.failed': '{label}: {message}',
  'progress.cancelled': '{label}: cancelled',

  'error.input': '{message}',
  'error.not_available': '{message}',
  'error.rate_limited': 'Too many requests. Try again in {seconds} s.',
  'error.internal': 'Something went wrong on our side ({code}). Please try again later.',
  'error.unknown_command': 'Unknown command "{command}". See /help.',
  'error.bad_options': 'Invalid options: {problems}',
  'error.file_too_big':
    'The file is {size} MB; this deployment can download files up to {limit} MB. Send a smaller file.',
  'error.upload_too_big': 'The result is too large to upload here even after re-encoding ({size} MB).',
  'error.feature_unavailable': 'This feature is not available on this deployment right now.',
  'error.service_unavailable': 'The service is busy or unreachable right now. Please try again in a minute.',
  'error.too_many_pending':
    'You already have {limit, plural, one {# request} other {# requests}} in progress. Wait for one to finish, or cancel one with /cancel.',
  'error.daily_quota':
    "You have used today's {limit, plural, one {# request} other {# requests}}. The quota resets at 00:00 UTC.",
  'error.no_such_job': 'You have no job "{id}". Use /status to see your jobs.',
  'error.bad_language': 'Language must be one of: {languages}.',
  'error.download_failed': 'Your file could not be downloaded from the chat service. Please send it again.',
  'error.video_too_big': 'The video is {size} MB, over the {limit} MB upload limit here.',
  'group.icon_servers_only': 'Group pictures can be set in servers only.',
  'group.icon_needs_permission': 'I need the "Manage Server" permission to change the server icon.',
  'group.icon_failed':
    'I could not change the server icon: {why}. Give the bot the "Manage Server" permission.',
  // Uploaded style LoRAs (mystyle)
  'cmd.mystyle': 'Upload, list or delete your own style LoRAs',
  'mystyle.need_file':
    'Send an SD 1.5 style LoRA as a .safetensors file with /mystyle (or just send the file to me in private).',
  'mystyle.not_safetensors':
    '"{name}" is not a .safetensors file. Send an SD 1.5 style LoRA saved as .safetensors.',
  'mystyle.too_big':
    'The LoRA file is {size} MB; the limit here is {limit} MB. Send a smaller LoRA (a lower rank).',
  'mystyle.rejected': '"{name}" was not stored: {reason}',
  'mystyle.stored':
    'Stored your style "{name}" ({id}): {layers} layers, rank {rank}. Only you can use it: /portrait {id}',
  'mystyle.use': 'Use',
  'mystyle.delete': 'Delete',
  'mystyle.need_id': 'Give the id of the style to delete (see /mystyle).',
  'mystyle.unknown': 'You have no uploaded style "{id}". See /mystyle for yours.',
  'mystyle.deleted': 'Deleted your style {id}.',
  'mystyle.none': 'You have not uploaded any style. Send an SD 1.5 LoRA (.safetensors) with /mystyle.',
  'mystyle.list': 'Your uploaded styles ({count}):',
  'mystyle.not_yours':
    'You have no uploaded style "{id}". Uploaded styles can be used only by the person who uploaded them; see /mystyle for yours.',
  // Delivered job results (each job's `reply` in queue/jobs/*.ts → bot/delivery.ts renders them per user).
  'job.group-photo': 'Group photo',
  'job.template': 'Template portrait',
  'reply.report_summary':
    '{accepted} of {total, plural, one {# photo} other {# photos}} can be used for your portraits.',
  'reply.report_accepted': 'Used: {names}.',
  'reply.report_rejected': 'Not used:',
  'reply.photo_n': 'photo {n}',
  'reply.template': 'Here is your portrait in the template (face {face} of {faces}).',
  'reply.template_likeness':
    'Here is your portrait in the template (face {face} of {faces}, likeness {likeness}).',
  'reply.trained': 'Your personal face model is trained. /portrait now uses it.',
  'reply.generated':
    '{count, plural, one {Here is your portrait.} other {Here are your # portraits, best likeness first.}}',
  'reply.tryon': 'Here is your try-on.',
  'reply.talk': 'Here is your talking portrait.',
  // Why a photo was not used (core/identity/reasons.ts fills these for its report).
  'reject.no_face': `No face was found in {name}. ${GOOD_PHOTO}`,
  'reject.several_faces':
    "{name} shows {faces} faces and none clearly dominates. Send a photo of only you (or one where your face is much larger than anyone else's).",
  'reject.face_too_small':
    'The face in {name} is only {size} pixels; at least {min} are needed. Send a closer or larger photo.',
  'reject.extreme_pose':
    'The face in {name} is turned too far (yaw {yaw}°, pitch {pitch}°). Send a photo looking roughly at the camera.',
  'reject.eyes_closed': 'The eyes in {name} look closed. Send a photo with open eyes.',
  'reject.too_blurry': '{name} is too blurry. Send a sharp, well-lit photo.',
  'reject.duplicate':
    '{name} is nearly the same photo as {other}. Send different photos (other days, light, angles).',
  'reject.different_person':
    '{name} seems to show a different person from the other photos. Send photos of one person only.',
  'photo.good': GOOD_PHOTO,
  'reject.other': '{name}: {message}',
  // Job failures by error code (bot/delivery.ts picks these over the job's English message).
  'joberror.cancelled': 'The job was cancelled.',
  'joberror.artifact_missing':
    'A file this request needs is no longer stored (this server deletes files after a while, or it was deleted). Send it again.',
  'joberror.internal': 'Something went wrong on our side. Please try again later.',
  'joberror.model': 'This feature is not working on the server right now. Please try again later.',
  'joberror.stalled': 'Something went wrong on our side (the worker stopped twice). Please try again.',
  'joberror.not_available': 'This feature is not available on this deployment: its models are not installed.',
  'joberror.no_usable_photos': `None of your photos can be used. ${GOOD_PHOTO}`,
  'joberror.no_identity': 'A portrait needs your face: send a few photos of yourself with /train first.',
  'joberror.no_face': 'No face was found in the photo. Use a photo with a clearly visible face.',
  'joberror.several_faces': 'The photo shows several faces. Send a photo of only you.',
  'joberror.no_such_face':
    'The template photo does not have the face you chose. Count faces from the left, and choose one that is there.',
  'joberror.no_usable_candidate':
    'None of the pictures made for you had one clear face of the right size, so there is nothing good to send. Try again, or choose another style.',
  'joberror.not_an_image': 'The file is not an image. Send a JPEG, PNG or WebP photo.',
  'joberror.unsupported_format':
    'This image format cannot be read here. Send a JPEG, PNG or WebP photo (on an iPhone: Settings > Camera > Formats > Most Compatible).',
  'joberror.corrupt_image': 'The image file is damaged or incomplete. Send the original photo again.',
  // Group photo (composed from opted-in members' prepared faces)
  'group.need_template':
    'Send the group template photo with /group photo (as the caption of the photo); later requests reuse the last one.',
  'group.photo_skipped': 'Skipped (no prepared face yet): {names}.',
  'group.photo_skipped_unnamed':
    'Skipped: {count, plural, one {# member} other {# members}} without a prepared face yet.',
  'group.photo_none_ready':
    'None of the {count} opted-in members has a prepared face yet. Each member sends a few photos of themselves to the bot in private first.',
  'status.identity': 'Your face ({photos, plural, one {# photo} other {# photos}}): {state}',
  'identity.preparing': 'photos being checked',
  'identity.prepared': 'ready for portraits',
  'identity.training': 'ready for portraits; personal model training',
  'identity.trained': 'personal model ready',
  'identity.failed': 'ready for portraits; personal model training failed',
  'reply.group_photo':
    "Group photo: {placed, plural, one {# member} other {# members}} placed into the template's {faces, plural, one {# face} other {# faces}}, left to right.",
  // ---- Speech, audio and video (helper/media; core/speech, core/audio, core/video) ----
  // Failed-job messages by error code (job-error.ts reads joberror.<code>).
  'joberror.text_too_long': 'The text is too long to speak. Shorten it.',
  'joberror.empty_text': 'There is no text to speak.',
  'joberror.bad_voice': 'Unknown voice. Pick one from the voice list.',
  'joberror.bad_rate': 'The speaking rate is not valid: use a percentage from -50% to +100%, e.g. +10%.',
  'joberror.bad_pitch': 'The pitch is not valid: use Hz from -50Hz to +50Hz, e.g. +5Hz.',
  'joberror.not_audio':
    'The file is not audio that can be played. Send a voice message, or an MP3, M4A, OGG or WAV file.',
  'joberror.audio_too_long':
    'The recording is too long. Send a shorter one (a minute at most on most servers).',
  'joberror.audio_too_large': 'The audio file is too large. Send a shorter recording.',
  'joberror.video_too_large': 'The video would be too large to send here. Use a shorter text or recording.',
  'joberror.video_too_long': 'The video would be too long. Use a shorter text or recording.',
  // Said in the reply when the offline voice spoke instead of the online one (Speech.fallback.reason).
  'talk.voice_fallback.disabled':
    'This server speaks with its offline voice (the online voice is turned off).',
  'talk.voice_fallback.timeout':
    'The online voice did not answer in time, so the offline voice spoke instead.',
  'talk.voice_fallback.rejected':
    'The online voice service refused the request, so the offline voice spoke instead.',
  'talk.voice_fallback.unreachable':
    'The online voice service could not be reached, so the offline voice spoke instead.',
  'talk.voice_fallback.dropped':
    'The connection to the online voice broke off, so the offline voice spoke instead.',
  'talk.voice_fallback.circuit_open':
    'The online voice is failing at the moment, so the offline voice spoke instead.',
  'talk.voice_fallback.failed': 'The online voice failed, so the offline voice spoke instead.',
  // ---- end of speech, audio and video ----
  // ---- talking-portrait animation (helper/talk): which engine made the video, its errors ----
  'talk.engine.basic':
    'Animated with the basic animator (the face is moved from its landmarks; no talking-head model is installed on this server).',
  'talk.engine.sadtalker': 'Animated with SadTalker.',
  'joberror.empty_audio': 'The recording has no sound to animate. Send it again.',
  'joberror.unknown_engine': 'Unknown animation engine. Choose auto, basic or sadtalker.',
  // ---- end of talking-portrait animation ----
  // --- Body pose, garment masks, basic try-on (helper/pose; docs/tryon-and-pose.md) ---
  'joberror.no_person':
    'No person was found in the photo. Send a photo where one whole person is clearly visible.',
  'joberror.several_people': 'The photo shows several people. Send a photo of one person.',
  'joberror.no_garment':
    'No garment could be found in the photo. Send it on a plain background, as a cut-out PNG, or worn by one person.',
  'joberror.garment_too_small':
    'The garment is too small in the photo. Send a photo where it fills more of the frame.',
  'joberror.no_background_photo': 'The photo background needs a background photo: send one with the request.',
  'joberror.bad_background': 'Unknown background. Choose studio, gradient or a photo of your own.',
  'tryon.need_backdrop': 'For the "photo" background, send a second photo with the garment: the backdrop.',
  'tryon.likeness': 'Likeness to you: {likeness}%.',
  'tryon.basic_result':
    'Basic try-on: your face on the person wearing the garment in your photo (this server has no generation model).',
  'tryon.mask_preview': 'The highlighted part is the garment that will be kept.',
  'pose.preview': 'The pose taken from your photo.',
  'reply.style_only':
    'Made without a face model: this server has no FaceChain-FACT installed, so the picture was drawn in the style and your face fused in afterwards. Likeness is usually higher with a trained face (/train) or FACT.',
  'portrait.info_style_only':
    'Method: style only, your face fused in afterwards (no face model on this server)',
  // ---- web API request bodies (helper/ops: bot/web/body.ts) ----
  'web.too_large': 'The upload is larger than {limit} MB. Send fewer or smaller files.',
  'web.too_many_files': 'Too many files: at most {max} in one request.',
  'web.bad_json': 'The request could not be read (not valid JSON). Reload the page and try again.',
  'web.bad_form': 'The upload could not be read (not a valid form). Reload the page and try again.',
  // ---- end of web API request bodies ----
  // ---- what users see (helper/ux): stages, times, likeness, choices, safe groups ----
  // Progress stages by the processors' ids (commands/kit/progress-text.ts; others read "working").
  'stage.other': 'working',
  'stage.load-models': 'loading the models',
  'stage.read': 'reading the picture',
  'stage.analyze': 'checking the photos',
  'stage.identity': 'reading your face',
  'stage.plan': 'preparing the style',
  'stage.load-generator': 'loading the image generator',
  'stage.generate': 'drawing',
  'stage.post-process': 'fitting your face and ranking',
  'stage.template': 'reading the template',
  'stage.fuse': 'putting your face in',
  'stage.score': 'measuring the likeness',
  'stage.upscale': 'redrawing larger',
  'stage.safety': 'checking the pictures',
  'stage.sheet': 'drawing the photo report',
  'stage.garment': 'reading the garment',
  'stage.try-on': 'trying it on',
  'stage.store': 'saving',
  'stage.done': 'finishing',
  'stage.dataset': 'preparing the training photos',
  'stage.train': 'training your face model',
  'stage.check': 'checking your face model',
  'stage.speech': 'making the voice',
  'stage.animate': 'animating',
  'stage.encode': 'encoding the video',
  'time.seconds': '{n, plural, one {# second} other {# seconds}}',
  'time.minutes': '{n, plural, one {# minute} other {# minutes}}',
  'time.hours': '{n, plural, one {# hour} other {# hours}}',
  'progress.waiting_unknown': '{label}: waiting in line',
  // Likeness on results (bot/delivery.ts).
  'result.likeness': '#{n}: likeness {percent}%',
  'result.likeness_explained':
    'Likeness says how close the face in a picture is to the face in your photos, as the face model measures it (from 45% on it counts as the same person). Pictures come best first.',
  'result.flagged':
    '{count, plural, one {One picture was} other {# pictures were}} flagged by the safety check and blurred: tap to see.',
  'reply.varied':
    '{count, plural, one {Here is a variation of your portrait.} other {Here are # variations of your portrait, best likeness first.}}',
  'reply.upscaled': 'Here is your portrait, redrawn at {width}×{height}.',
  // Result actions.
  'portrait.vary_subtle': 'Vary: subtle ({strength}%)',
  'portrait.vary_strong': 'Vary: strong ({strength}%)',
  'portrait.upscale': 'Upscale ×2',
  'portrait.info': 'Info',
  'portrait.no_result': 'There is no finished portrait {id} of yours. Use a result from /status.',
  'portrait.info_text': 'Seed {seed} · style {style} · sampler {sampler}, {steps} steps · {size}',
  'portrait.info_variation': 'A variation: variation seed {seed}, strength {strength}%',
  'portrait.vary_queued':
    '{count, plural, one {Making a variation} other {Making # variations}} of that portrait (strength {strength}%: how far it moves from the original).',
  'portrait.upscale_queued': 'Redrawing that portrait at twice its size.',
  'opt.portrait.strength': 'How much a variation changes (0.05-1)',
  'opt.portrait.prompt': 'Your own words added to the style (optional)',
  'opt.template.face': 'Which face to replace, counted from the left (1, 2, ...)',
  'template.face_button': 'Face {n}',
  'template.queued_face': 'Putting your face into the template, in place of face {face}.',
  'hint.rate': 'write it like +10% or -20%',
  'hint.pitch': 'write it like +5Hz or -10Hz',
  // Option problems (commands/kit/dispatch.ts): "{label}: {problem}"; labels name the option.
  'error.option_label': '{name} ({describe})',
  'error.option_sep': ': ',
  'error.option_join': '; ',
  // Safe groups (commands/kit/policy.ts).
  'error.banned': 'This bot is not available to you.',
  'error.blocked_text': 'Your request contains words this server does not allow. Please rephrase it.',
  'group.features_off':
    'Group features are off in this group. An administrator turns them on with /group on.',
  'group.features_on': 'Group features are on: members can make portraits here and join group photos.',
  'group.features_disabled': 'Group features are off in this group now.',
  'group.state_on': 'Group features: on.',
  'group.state_off': 'Group features: off (an administrator turns them on with /group on).',
  // Style gallery.
  'styles.no_preview': '(no preview picture yet)',
  'styles.no_previews': 'These styles have no preview pictures yet.',
  // The photo report's contact sheet (core/identity/contact-sheet.ts): short, on the picture.
  'sheet.used': 'used',
  'sheet.no_face': 'no face found',
  'sheet.several_faces': '{faces} faces',
  'sheet.face_too_small': 'face too small',
  'sheet.extreme_pose': 'face turned away',
  'sheet.eyes_closed': 'eyes closed',
  'sheet.too_blurry': 'too blurry',
  'sheet.duplicate': 'same as {other}',
  'sheet.different_person': 'another person',
  'sheet.other': 'cannot be read',
  // ---- end of what users see ----
} as const;

export type MessageKey = keyof typeof en;
