/** 简体中文消息。键与 en.ts 完全一致（类型检查保证）。 */
import type { MessageKey } from './en.ts';

export const zhCN: Record<MessageKey, string> = {
  'cmd.start': '介绍本机器人以及如何开始',
  'cmd.help': '好照片指南与全部命令',
  'cmd.consent': '隐私说明：同意或撤回',
  'cmd.train': '发送 1-20 张本人照片以建立你的形象',
  'cmd.portrait': '生成指定风格的写真',
  'cmd.styles': '浏览已安装的风格包',
  'cmd.template': '把你的脸放进一张模板照片',
  'cmd.tryon': '根据照片试穿一件衣服',
  'cmd.talk': '让一张结果开口说话（文字或音频）',
  'cmd.status': '你的任务：排队位置、阶段、进度',
  'cmd.cancel': '取消你的某个任务',
  'cmd.settings': '语言、默认风格、私信发送',
  'cmd.forget': '删除机器人保存的你的全部数据',
  'cmd.group': '群组主题、合影、群头像',

  'start.text':
    '你好！我可以为你生成多种风格的写真（FaceChain）。\n' +
    '1. /consent —— 阅读并同意隐私说明（同意前不保存任何内容）。\n' +
    '2. /train —— 发送 1-20 张清晰的本人正脸照片。\n' +
    '3. /portrait —— 选择风格，获取写真。\n' +
    '使用 /help 查看拍照建议。',
  'help.text':
    '好照片：单人、脸部清晰端正、睁眼、对焦清楚、光线均匀，不戴墨镜、不加重滤镜；' +
    '多角度和不同表情更好。\n\n命令：\n{commands}',
  'consent.text':
    '隐私说明（版本 {version}）\n' +
    '• 保存的内容：你发送的照片、由照片生成的人脸裁剪图和人脸特征向量、训练得到的个人模型（LoRA，如有），以及你请求生成的结果。\n' +
    '• 保存期限：{how_long}\n' +
    '• 外部服务：聊天平台负责传递消息；使用 /talk 文字转语音时可能调用已配置的语音合成服务。数据不出售，也不用于训练。\n' +
    '• 删除：/forget 一次性删除全部数据；撤回同意也会删除。\n' +
    '请只发送你本人的照片。',
  'consent.kept_until_deleted':
    '保存到你删除为止。/forget（或撤回同意）会立即删除你的照片、面部裁剪、特征向量、个人模型和结果。',
  'consent.kept_for':
    '你发送的照片和生成的结果会在保存 {age}后自动删除（仍有你的请求在使用时，等请求完成后再删除）；' +
    '你已保存身份的人脸裁剪图、特征向量和个人模型会一直保存到你删除为止。/forget（或撤回同意）会立即删除全部数据。',
  'consent.accept': '我同意',
  'consent.revoke': '撤回并删除',
  'consent.accepted': '谢谢。现在可以用 /train 发送照片了。',
  'consent.revoked': '已撤回同意。已删除：{removed}。',
  'consent.required': '请先阅读并同意隐私说明：',
  'consent.already': '你已同意隐私说明版本 {version}。',

  'train.need_photos': '请用 /train 发送 1 到 20 张本人照片（照片、相册或图片文件均可）。',
  'train.too_many': '你发送了 {count} 张照片，上限为 20 张。',
  'train.too_big': '“{name}”大小为 {size} MB；此处最多可下载 {limit} MB 的文件。请发送更小的图片。',
  'train.not_image': '“{name}”不是图片。请发送 JPEG、PNG 或 WebP 照片。',
  'train.private_only': '为了保护你的隐私，请在与我的私聊中发送照片，不要发在群里。',
  'train.queued': '收到 {count} 张照片，正在检查——稍后会逐张告诉你结果。',
  'train.progress': '正在准备你的形象',
  'train.duplicate': '这些照片已在处理中。',

  'portrait.no_identity': '你还没有形象。请先用 /train 发送照片。',
  'portrait.unknown_style': '没有名为“{style}”的风格。用 /styles 查看已安装的风格。',
  'portrait.identity_busy': '你的照片仍在检查中。请等待检查报告后再试。',
  'portrait.deleted_n': '已删除该结果的 {count} 张图片。',
  'portrait.deleted': '该结果已不存在。',
  'portrait.one_pose': '请随 /portrait 只发送一张姿势图（OpenPose 骨架图），不要发送多张。',
  'portrait.no_styles': '此部署没有安装风格包。',
  'portrait.queued': '正在以“{style}”风格生成 {count} 张写真。',
  'portrait.progress': '写真',
  'portrait.reroll': '重新生成',
  'portrait.more': '更多类似',
  'portrait.animate': '动起来',
  'portrait.tryon': '试穿',
  'portrait.delete': '删除',

  'styles.none': '此部署没有安装风格包。',
  'styles.page': '风格 {from}-{to}，共 {total} 个：',
  'styles.choose': '用此风格生成写真…',
  'talk.modal_title': '让它开口说话',
  'talk.modal_label': '要让写真说什么？',
  'styles.prev': '◀ 上一页',
  'styles.next': '下一页 ▶',

  'template.need_photo': '请用 /template 发送一张模板照片。',
  'template.queued': '正在把你的脸放进模板。',
  'tryon.need_photo': '请用 /tryon 发送一张衣服的照片。',
  'tryon.queued': '正在试穿。',
  'talk.need_input': '请提供要说的文字，或用 /talk 发送语音消息或音频文件。',
  'talk.no_result': '没有找到你已完成的结果 {id}。请使用 /status 中的结果编号。',
  'talk.queued': '正在生成说话视频。',
  'files.result_expired':
    '该结果的图片已在 {age}后删除（本服务器只保留文件这么久）；请用 /portrait 重新生成。',
  'files.result_expired_delete': '该结果的图片已在 {age}后被删除（本服务器只保留文件这么久）。',
  'files.age_days': '{n} 天',
  'files.age_hours': '{n} 小时',

  'job.analyze': '照片分析',
  'job.prepare-identity': '照片检查',
  'job.train-lora': '个人模型训练',
  'job.generate': '写真',
  'job.try-on': '试穿',
  'job.talk': '说话写真',
  'job.deliver': '发送',
  'status.none': '你没有任务。',
  'status.line': '{name} —— {state}{detail}',
  'status.waiting': '排队中',
  'status.active': '进行中',
  'status.completed': '已完成',
  'status.failed': '失败',
  'status.cancelled': '已取消',
  'status.unknown': '未知',
  'status.position': '，第 {position} 位',
  'status.percent': '，{stage} {percent}%',
  'status.eta': '，约剩 {eta} 秒',

  'cancel.none': '你没有正在进行或排队的任务。',
  'cancel.done': '已取消 {count} 个任务。',
  'cancel.not_found': '没有找到你正在进行或排队的任务 {id}。',

  'settings.show': '语言：{locale}\n默认风格：{style}\n私信发送：{private}',
  'settings.saved': '设置已保存。',
  'settings.unset': '（无）',
  'settings.yes': '是',
  'settings.no': '否',

  'forget.confirm': '这将删除你的照片、形象、个人模型、结果和任务，且无法恢复。',
  'forget.yes': '全部删除',
  'forget.done': '已删除：{removed}。不再保留任何关于你的数据。',
  'forget.nothing': '没有保存任何内容',

  'group.only_groups': '此命令只能在群组中使用。',
  'group.not_admin': '只有群管理员可以修改群主题或群头像。',
  'group.theme_set': '群主题已设为“{style}”。新成员会收到用该主题制作头像的邀请。',
  'group.theme_cleared': '群主题已清除。',
  'group.theme_show': '群主题：{style}。已加入合影的成员：{count}。',
  'group.invite': '欢迎 {name}！本群的写真主题是“{style}”。来制作你的头像吧：先 /consent，再 /train。',
  'group.opt_in': '你已加入下一张合影。',
  'group.opt_out': '你已退出合影。',
  'group.photo_few': '合影至少需要 2 位通过“/group join”加入的成员；目前有 {count} 位。',
  'group.photo_queued': '正在合成 {count} 位成员的合影。',
  'group.picture_set': '已用该结果设置群头像。',
  'group.no_result': '请提供你的一个已完成结果的编号。',

  'progress.line': '{label}：{stage} {percent}%',
  'progress.waiting': '{label}：排队中（第 {position} 位）',
  'progress.done': '{label}：完成',
  'progress.failed': '{label}：{message}',
  'progress.cancelled': '{label}：已取消',

  'error.input': '{message}',
  'error.not_available': '{message}',
  'error.rate_limited': '请求过于频繁，请 {seconds} 秒后再试。',
  'error.internal': '我们这边出了点问题（{code}）。请稍后再试。',
  'error.unknown_command': '未知命令“{command}”。请看 /help。',
  'error.bad_options': '参数无效：{problems}',
  'error.file_too_big': '文件大小为 {size} MB；此部署最多可下载 {limit} MB。请发送更小的文件。',
  'error.upload_too_big': '结果即使重新编码后也太大，无法在此上传（{size} MB）。',
  'error.feature_unavailable': '当前部署暂不提供此功能。',
  'error.service_unavailable': '服务繁忙或暂时无法连接，请一分钟后再试。',
  'error.too_many_pending': '你已有 {limit} 个请求正在处理。请等其中一个完成，或用 /cancel 取消一个。',
  'error.daily_quota': '你今天的 {limit} 次请求已用完。额度在 UTC 时间 00:00 重置。',
  'error.no_such_job': '你没有编号为“{id}”的任务。用 /status 查看你的任务。',
  'error.bad_language': '语言必须是以下之一：{languages}。',
  'error.download_failed': '无法从聊天服务下载你的文件。请重新发送。',
  'error.video_too_big': '视频大小为 {size} MB，超过了这里 {limit} MB 的上传上限。',
  'group.icon_servers_only': '只能在服务器中设置群组头像。',
  'group.icon_needs_permission': '我需要“管理服务器”权限才能更换服务器图标。',
  'group.icon_failed': '无法更换服务器图标：{why}。请给机器人“管理服务器”权限。',
  // 用户上传的风格 LoRA（mystyle）
  'cmd.mystyle': '上传、查看或删除你自己的风格 LoRA',
  'mystyle.need_file': '请用 /mystyle 发送一个 SD 1.5 风格 LoRA（.safetensors 文件），或直接私聊发给我。',
  'mystyle.not_safetensors':
    '“{name}”不是 .safetensors 文件。请发送保存为 .safetensors 的 SD 1.5 风格 LoRA。',
  'mystyle.too_big': 'LoRA 文件大小为 {size} MB，此处上限为 {limit} MB。请发送更小的 LoRA（更低的秩）。',
  'mystyle.rejected': '“{name}”未保存：{reason}',
  'mystyle.stored': '已保存你的风格“{name}”（{id}）：{layers} 层，秩 {rank}。只有你可以使用：/portrait {id}',
  'mystyle.use': '使用',
  'mystyle.delete': '删除',
  'mystyle.need_id': '请给出要删除的风格 id（见 /mystyle）。',
  'mystyle.unknown': '你没有上传过风格“{id}”。用 /mystyle 查看你的风格。',
  'mystyle.deleted': '已删除你的风格 {id}。',
  'mystyle.none': '你还没有上传风格。请用 /mystyle 发送一个 SD 1.5 LoRA（.safetensors）。',
  'mystyle.list': '你上传的风格（{count}）：',
  'mystyle.not_yours': '你没有上传过风格“{id}”。上传的风格只能由上传者本人使用；用 /mystyle 查看你的风格。',
  // 已完成任务的回复（queue/jobs.ts toReply → bot/delivery.ts 按用户语言渲染）。
  'job.group-photo': '合影',
  'job.template': '模板写真',
  'reply.report_summary': '{total} 张照片中有 {accepted} 张可用于生成你的写真。',
  'reply.report_accepted': '已采用：{names}。',
  'reply.report_rejected': '未采用：',
  'reply.photo_n': '第 {n} 张照片',
  'reply.template': '这是放进模板后的你（第 {face} 张脸，共 {faces} 张）。',
  'reply.template_likeness': '这是放进模板后的你（第 {face} 张脸，共 {faces} 张，相似度 {likeness}）。',
  'reply.trained': '你的个人人脸模型已训练完成，/portrait 现在会使用它。',
  'reply.generated': '这是你的 {count} 张写真。',
  'reply.tryon': '这是你的试穿效果。',
  'reply.talk': '这是你的说话写真。',
  'reject.no_face':
    '在 {name} 中没有找到人脸。好的照片：只有一个人，脸朝向镜头，睁着眼，对焦清晰，脸的宽度至少占照片的五分之一（头肩照）。',
  'reject.several_faces':
    '{name} 中有 {faces} 张脸，且没有一张明显占主导。请发送只有你一个人的照片（或你的脸明显比其他人大得多的照片）。',
  'reject.face_too_small':
    '{name} 中的脸只有 {size} 像素，至少需要 {min} 像素。请发送离得更近或分辨率更高的照片。',
  'reject.extreme_pose': '{name} 中的脸转得太偏（左右 {yaw}°，上下 {pitch}°）。请发送大致正对镜头的照片。',
  'reject.eyes_closed': '{name} 中的眼睛看起来是闭着的。请发送睁着眼的照片。',
  'reject.too_blurry': '{name} 太模糊了。请发送清晰、光线充足的照片。',
  'reject.duplicate': '{name} 与 {other} 几乎是同一张照片。请发送不同的照片（不同的日子、光线和角度）。',
  'reject.different_person': '{name} 中的人似乎与其他照片中的不是同一个人。请只发送同一个人的照片。',
  'reject.other': '{name}：这张图片无法使用（{message}）。请发送原始的 JPEG、PNG 或 WebP 照片。',
  'joberror.cancelled': '任务已取消。',
  'joberror.artifact_missing':
    '此请求需要的文件已不再保存（服务器会在一段时间后删除文件，或文件已被删除）。请重新发送。',
  'joberror.internal': '我们这边出了点问题，请稍后再试。',
  'joberror.model': '服务器上的这个功能暂时无法工作，请稍后再试。',
  'joberror.stalled': '我们这边出了点问题（处理程序两次中断），请再试一次。',
  'joberror.not_available': '当前部署不提供此功能：所需的模型没有安装。',
  'joberror.no_usable_photos':
    '你的照片都无法使用。好的照片：只有一个人，脸朝向镜头，睁着眼，对焦清晰，脸的宽度至少占照片的五分之一（头肩照）。',
  'joberror.no_identity': '生成写真需要你的脸：请先用 /train 发送几张你自己的照片。',
  'joberror.no_face': '照片中没有找到人脸。请使用脸部清晰可见的照片。',
  'joberror.several_faces': '照片中有好几张脸。请发送只有你一个人的照片。',
  'joberror.no_such_face': '模板照片中没有你选择的那张脸。请从左往右数，选择照片中存在的脸。',
  'joberror.no_usable_candidate':
    '为你生成的图片中没有一张有大小合适的清晰人脸，所以没有可以发送的好结果。请再试一次，或换一种风格。',
  'joberror.not_an_image': '这个文件不是图片。请发送 JPEG、PNG 或 WebP 照片。',
  'joberror.unsupported_format':
    '这里无法读取这种图片格式。请发送 JPEG、PNG 或 WebP 照片（iPhone：设置 > 相机 > 格式 > 兼容性最佳）。',
  'joberror.corrupt_image': '图片文件已损坏或不完整。请重新发送原始照片。',
  // 合影（由已加入成员的已准备人脸合成）
  'group.need_template':
    '请用 /group photo 发送合影模板照片（作为照片的说明文字）；之后的请求会沿用最近一张。',
  'group.photo_skipped': '已跳过（尚未准备人脸）：{names}。',
  'group.photo_skipped_unnamed': '已跳过：{count} 位成员尚未准备人脸。',
  'group.photo_none_ready':
    '已加入的 {count} 位成员都还没有准备好的人脸。请每位成员先私聊机器人发送几张自己的照片。',
  'status.identity': '你的脸（{photos} 张照片）：{state}',
  'identity.preparing': '正在检查照片',
  'identity.prepared': '可以生成写真',
  'identity.training': '可以生成写真；个人模型训练中',
  'identity.trained': '个人模型已就绪',
  'identity.failed': '可以生成写真；个人模型训练失败',
  'reply.group_photo': '合影：已将 {placed} 位成员从左到右放入模板的 {faces} 张脸中。',
  // --- 人体姿态、服装蒙版、基础试穿（helper/pose；docs/tryon-and-pose.md）---
  'joberror.no_person': '照片中没有找到人。请发送一张能清楚看到一个完整人物的照片。',
  'joberror.several_people': '照片中有好几个人。请发送只有一个人的照片。',
  'joberror.no_garment':
    '照片中找不到衣服。请把衣服放在纯色背景上拍摄、发送抠好图的 PNG，或发送一个人穿着它的照片。',
  'joberror.garment_too_small': '衣服在照片中太小了。请发送衣服占画面更多的照片。',
  'joberror.no_background_photo': '“照片背景”需要一张背景照片：请随请求一起发送。',
  'joberror.bad_background': '未知的背景。请选择影棚白、渐变，或你自己的照片。',
  'tryon.basic_result':
    '基础试穿：把你的脸放到你照片中穿着这件衣服的人身上（本服务器没有生成模型）。相似度 {likeness}。',
  'tryon.mask_preview': '高亮的部分是会保留下来的衣服。',
  'pose.preview': '从你的照片中提取的姿态。',
};
