// Every visible string and aria-label, in both languages. `zhCN` is typed as
// Record<Key, string> over the English keys, so a key missing from (or extra in) either
// dictionary is a compile error. Placeholders look like {n} and are filled by `t`.

const en = {
  "app.name": "Tessera",
  "app.skip": "Skip to content",
  "app.title": "Tessera — digital ID",
  "app.loading": "Loading…",
  "app.startFailed": "Tessera could not start.",
  "app.retry": "Try again",
  "list.sep": ", ",
  "nav.label": "Main",
  "nav.home": "My ID",
  "nav.history": "History",
  "nav.settings": "Settings",

  "welcome.title": "Welcome to Tessera",
  "welcome.lead": "Your citizen ID, kept safely on this device and shown as a QR code only when you choose to.",
  "welcome.point1": "Add your ID once with your ID number and a short face check.",
  "welcome.point2": "Show only what is needed: a basic check, or full details for hotel check-in.",
  "welcome.point3": "Your face pictures are checked on this device; a PIN protects the full details.",
  "welcome.start": "Add my ID",

  "enrol.title": "Add your ID",
  "enrol.lead": "Enter your 18-character citizen ID number. Next, a short face check confirms it is you.",
  "enrol.idLabel": "Citizen ID number",
  "enrol.idHint": "18 characters: 17 digits, then a digit or X.",
  "enrol.idLength": "{n} of 18 characters",
  "enrol.idFormat": "Only digits, and X as the last character.",
  "enrol.idCheckDigit": "This number's last character does not match. Check the number on your ID card.",
  "enrol.idOk": "The number looks right.",
  "enrol.submit": "Continue to face check",
  "enrol.noCamera": "No camera was found on this device, so the face check cannot run.",
  "enrol.noCameraHelp": "Connect a camera and open this screen again.",
  "enrol.useDemo": "Use the demo recording — for demonstration only",
  "enrol.choosePhoto": "Choose a photo — for demonstration only (a still photo cannot pass the liveness check)",
  "enrol.photoNote": "A chosen photo is in use — for demonstration only: the liveness check will refuse it.",
  "enrol.demoNote": "Demo recording in use — for demonstration only, not a real face check.",
  "enrol.replaceExplain": "This ID is already on another device. If you move it here, the other device stops working for this ID.",
  "enrol.replace": "Move my ID to this device",
  "enrol.successTitle": "Your ID is on this device",
  "enrol.successLead": "The issuer confirmed your face check.",
  "enrol.continue": "Continue",
  "enrol.tryAgain": "Try again",

  "capture.title": "Face check",
  "capture.previewAlt": "Camera preview",
  "capture.guideLabel": "Keep your face inside the oval.",
  "capture.starting": "Starting the camera…",
  "capture.stepsLabel": "What to do",
  "capture.stepOf": "Step {n} of {total}",
  "capture.holdStill": "Good — hold still.",
  "capture.checking": "Checking the pictures on this device…",
  "capture.submitting": "Sending to the issuer…",
  "capture.progressLabel": "Face check progress",
  "capture.cancel": "Cancel",
  "capture.stepDone": "done",
  "capture.stepCurrent": "now",

  "action.front": "Look straight at the camera",
  "action.left": "Turn your head to your left",
  "action.right": "Turn your head to your right",
  "action.blink": "Blink",

  "guidance.no_face": "No face seen — look at the camera",
  "guidance.multiple_faces": "Only one person, please",
  "guidance.too_far": "Move closer",
  "guidance.too_close": "Move back a little",
  "guidance.off_centre": "Centre your face in the oval",
  "guidance.too_dark": "More light, please",
  "guidance.too_bright": "Too bright — avoid direct light",
  "guidance.blurry": "Hold still — the picture is blurry",
  "guidance.turned_away": "Face the camera",

  "pin.title": "Set a PIN",
  "pin.lead": "Six digits. You need it to show your full details, for example at a hotel.",
  "pin.new": "New PIN (6 digits)",
  "pin.confirm": "Repeat the PIN",
  "pin.save": "Save PIN",
  "pin.format": "The PIN must be exactly 6 digits.",
  "pin.mismatch": "The two PINs are different. Type the same 6 digits twice.",
  "pin.changeTitle": "Change your PIN",
  "pin.changeLead": "Enter your current PIN, then the new one twice.",
  "pin.current": "Current PIN",
  "pin.rules": "Not allowed: one digit six times, runs such as 123456 or 654321, repeated groups such as 121212, your date of birth, and the PINs people choose most often.",

  "home.title": "My ID",
  "home.cardLabel": "Citizen ID",
  "home.cardIssuer": "Digital ID",
  "home.name": "Name",
  "home.idNumber": "ID number",
  "home.state": "Status",
  "home.expires": "Valid until",
  "home.daysLeft": "{n} days left",
  "home.show": "Show my ID",
  "home.renewDue": "Your ID expires on {date}. Renew it now to keep using it.",
  "home.expiredBanner": "Your ID expired on {date}. Renew it to use it again.",
  "home.renew": "Renew now",
  "home.enrolling": "Adding your ID was not finished.",
  "home.continueEnrol": "Continue adding my ID",
  "home.revoked": "This ID no longer works on this device. It was revoked, for example because it was moved to another device.",
  "home.enrolAgain": "Add my ID again",
  "home.renewing": "A renewal was started but not finished.",
  "home.continueRenew": "Continue renewal",
  "home.noTiers": "Nothing can be shown right now.",

  "state.not_enrolled": "Not added",
  "state.enrolling": "Being added",
  "state.active": "Valid",
  "state.renewal_due": "Renewal due",
  "state.renewing": "Renewing",
  "state.expired": "Expired",
  "state.revoked": "Revoked",

  "tier.lightweight": "Basic check",
  "tier.upgraded": "Full details",

  "show.title": "Show my ID",
  "show.lead": "Choose what the other person may see.",
  "show.pickLabel": "What to share",
  "show.lightweightDesc": "Masked name, masked ID number and that you are over 18.",
  "show.upgradedDesc": "Full name, ID number, date of birth and sex — for hotel check-in and similar. Needs your PIN and a face check.",
  "show.unlockTitle": "Unlock full details",
  "show.unlockLead": "Enter your PIN. Then a short face check confirms it is you.",
  "show.pinLabel": "Your 6-digit PIN",
  "show.unlock": "Unlock",
  "show.qrAlt": "QR code with your ID: {tier}",
  "show.qrHelp": "Hold the screen up to the reader.",
  "show.countdown": "Refreshes in {n} s",
  "show.regenerated": "New QR code ready.",
  "show.close": "Close",
  "show.back": "Back",
  "show.making": "Making the QR code…",

  "renew.title": "Renew my ID",
  "renew.lead": "Renewal keeps your ID valid. It takes a minute:",
  "renew.point1": "a fresh face check;",
  "renew.point2": "a new key is made on this device;",
  "renew.point3": "the old credential is revoked and stops working.",
  "renew.confirm": "Start renewal",
  "renew.success": "Your ID is renewed. Valid until {date}.",
  "renew.home": "Back to my ID",

  "history.title": "History",
  "history.lead": "When you showed your ID on this device.",
  "history.empty": "You have not shown your ID yet.",
  "history.listLabel": "Times you showed your ID",

  "settings.title": "Settings",
  "settings.language": "Language",
  "settings.langSystem": "Follow the system",
  "settings.langZh": "中文",
  "settings.langEn": "English",
  "settings.issuer": "Issuer address",
  "settings.issuerHint": "Leave empty to use the built-in demo issuer.",
  "settings.issuerNow": "Now using: {url}",
  "settings.issuerDemo": "Built-in demo issuer — for demonstration only",
  "settings.issuerInvalid": "Enter a web address starting with https:// or http://, or leave it empty.",
  "settings.save": "Save",
  "settings.saved": "Saved.",
  "settings.removeTitle": "Your ID on this device",
  "settings.remove": "Remove this ID from this device",
  "settings.removeExplain": "This cannot be undone. Your ID and its history are deleted from this device; to use it again you must add it again with a face check.",
  "settings.removeConfirm": "Yes, remove it",
  "settings.removeCancel": "Keep it",
  "settings.pin": "Your PIN (needed to change the issuer address)",
  "settings.removePin": "Your PIN (needed to remove the ID)",
  "settings.pinTitle": "PIN",
  "settings.changePin": "Change PIN",
  "settings.about": "About",
  "settings.version": "{name} {version} · {os} ({arch})",

  "error.detail": "Details: {message}",
  "error.no_camera": "No camera was found. Connect a camera, or use the demo recording.",
  "error.camera": "The camera could not be used. Close other apps that use it and try again.",
  "error.issuer_unreachable": "The issuer cannot be reached. Check your internet connection and try again.",
  "error.issuer_untrusted": "This server could not prove it is your ID authority, or someone on the way changed its answer. Nothing was sent. Check the issuer address in Settings and your network.",
  "error.face_mismatch": "Your face did not match the photo on record. Try again in good light, without glasses or a mask.",
  "error.liveness_failed": "The face check was not completed. Try again and follow each step on the screen.",
  "error.quality": "The pictures were not clear enough: {guidance}. Try again.",
  "error.wrong_pin": "Wrong PIN. {n} tries left before you must wait.",
  "error.wrong_pin_unknown": "Wrong PIN. Try again.",
  "error.pin_locked": "Too many wrong PINs. Wait {n} seconds, then try again.",
  "error.pin_format": "The PIN must be exactly 6 digits.",
  "error.pin_mismatch": "The two PINs are different. Type the same 6 digits twice.",
  "error.pin_not_set": "Set a PIN first.",
  "error.pin_required": "Enter your PIN to make this change.",
  "error.pin_weak": "This PIN is too easy to guess. Choose another one.",
  "error.pin_weak.same_digit": "This PIN is one digit repeated. Choose six digits that are not all the same.",
  "error.pin_weak.sequence": "This PIN is a run of digits, like 123456 or 654321. Choose digits in no particular order.",
  "error.pin_weak.repeated": "This PIN repeats a short group of digits, like 121212 or 123123. Choose six digits without a pattern.",
  "error.pin_weak.birth_date": "This PIN is your date of birth, which is printed on your ID. Choose digits that say nothing about you.",
  "error.pin_weak.common": "This is one of the PINs people choose most often. Choose a less common one.",
  "error.invalid_id_number": "This is not a valid ID number. Check the 18 characters on your ID card.",
  "error.unknown_id_number": "The issuer has no record of this ID number. Check it, or contact the issuing office.",
  "error.already_enrolled": "This ID is already on another device.",
  "error.rate_limited": "Too many attempts. Wait a few minutes and try again.",
  "error.challenge_expired": "The face check took too long. Start again.",
  "error.revoked": "This ID has been revoked. Add it again to use it on this device.",
  "error.not_enrolled": "No ID is on this device yet.",
  "error.unlock_expired": "The full details are locked again. Enter your PIN to unlock them.",
  "error.keystore": "The secure storage on this device could not be used. Restart the device and try again.",
  "error.issuer_refused": "The issuer refused the request. Try again later, or contact the issuing office.",
  "error.invalid_input": "Something entered is not valid. Check it and try again.",
  "error.internal": "Something went wrong in Tessera. Try again; if it keeps happening, restart the app.",
} as const;

export type Key = keyof typeof en;

const zhCN: Record<Key, string> = {
  "app.name": "Tessera",
  "app.skip": "跳到正文",
  "app.title": "Tessera — 数字身份证件",
  "app.loading": "正在加载…",
  "app.startFailed": "Tessera 无法启动。",
  "app.retry": "重试",
  "list.sep": "、",
  "nav.label": "主导航",
  "nav.home": "我的证件",
  "nav.history": "出示记录",
  "nav.settings": "设置",

  "welcome.title": "欢迎使用 Tessera",
  "welcome.lead": "您的居民身份证件安全保存在本设备上，只在您选择时以二维码出示。",
  "welcome.point1": "只需输入一次身份证号码并完成简短的人脸核验即可添加证件。",
  "welcome.point2": "只出示需要的信息：基础核验，或入住酒店等场合的完整信息。",
  "welcome.point3": "人脸照片只在本设备上核验；完整信息受 PIN 码保护。",
  "welcome.start": "添加我的证件",

  "enrol.title": "添加您的证件",
  "enrol.lead": "请输入 18 位居民身份证号码。随后通过简短的人脸核验确认是您本人。",
  "enrol.idLabel": "居民身份证号码",
  "enrol.idHint": "18 位：前 17 位为数字，最后一位为数字或 X。",
  "enrol.idLength": "已输入 {n} / 18 位",
  "enrol.idFormat": "只能输入数字，最后一位可以是 X。",
  "enrol.idCheckDigit": "号码最后一位（校验码）不符，请核对身份证上的号码。",
  "enrol.idOk": "号码格式正确。",
  "enrol.submit": "继续进行人脸核验",
  "enrol.noCamera": "本设备未找到摄像头，无法进行人脸核验。",
  "enrol.noCameraHelp": "请连接摄像头后重新打开此页面。",
  "enrol.useDemo": "使用演示录像——仅供演示",
  "enrol.choosePhoto": "选择一张照片——仅供演示（静态照片无法通过活体检测）",
  "enrol.photoNote": "正在使用所选照片——仅供演示：活体检测将拒绝它。",
  "enrol.demoNote": "正在使用演示录像——仅供演示，并非真实的人脸核验。",
  "enrol.replaceExplain": "此证件已添加在另一台设备上。如果转移到本设备，另一台设备上的此证件将无法再使用。",
  "enrol.replace": "将我的证件转移到本设备",
  "enrol.successTitle": "证件已添加到本设备",
  "enrol.successLead": "签发机构已确认您的人脸核验。",
  "enrol.continue": "继续",
  "enrol.tryAgain": "重试",

  "capture.title": "人脸核验",
  "capture.previewAlt": "摄像头预览",
  "capture.guideLabel": "请将面部保持在椭圆框内。",
  "capture.starting": "正在启动摄像头…",
  "capture.stepsLabel": "请按步骤操作",
  "capture.stepOf": "第 {n} 步，共 {total} 步",
  "capture.holdStill": "很好，请保持不动。",
  "capture.checking": "正在本设备上核验照片…",
  "capture.submitting": "正在发送给签发机构…",
  "capture.progressLabel": "人脸核验进度",
  "capture.cancel": "取消",
  "capture.stepDone": "已完成",
  "capture.stepCurrent": "当前",

  "action.front": "请正视镜头",
  "action.left": "请向左转头",
  "action.right": "请向右转头",
  "action.blink": "请眨眼",

  "guidance.no_face": "未检测到人脸，请看向镜头",
  "guidance.multiple_faces": "画面中只能有一个人",
  "guidance.too_far": "请靠近一些",
  "guidance.too_close": "请稍微后退",
  "guidance.off_centre": "请将面部移到椭圆框中央",
  "guidance.too_dark": "光线太暗，请到明亮处",
  "guidance.too_bright": "光线太强，请避开直射光",
  "guidance.blurry": "画面模糊，请保持不动",
  "guidance.turned_away": "请面向镜头",

  "pin.title": "设置 PIN 码",
  "pin.lead": "6 位数字。出示完整信息（例如入住酒店）时需要输入。",
  "pin.new": "新 PIN 码（6 位数字）",
  "pin.confirm": "再次输入 PIN 码",
  "pin.save": "保存 PIN 码",
  "pin.format": "PIN 码必须是 6 位数字。",
  "pin.mismatch": "两次输入的 PIN 码不一致，请输入相同的 6 位数字。",
  "pin.changeTitle": "修改 PIN 码",
  "pin.changeLead": "请先输入当前 PIN 码，再输入两次新 PIN 码。",
  "pin.current": "当前 PIN 码",
  "pin.rules": "不可使用：同一数字重复六次、连续数字（如 123456 或 654321）、重复的数字组（如 121212）、您的出生日期，以及最常被使用的 PIN 码。",

  "home.title": "我的证件",
  "home.cardLabel": "居民身份证件",
  "home.cardIssuer": "数字证件",
  "home.name": "姓名",
  "home.idNumber": "证件号码",
  "home.state": "状态",
  "home.expires": "有效期至",
  "home.daysLeft": "剩余 {n} 天",
  "home.show": "出示证件",
  "home.renewDue": "您的证件将于 {date} 到期，请立即更新以继续使用。",
  "home.expiredBanner": "您的证件已于 {date} 过期，请更新后再使用。",
  "home.renew": "立即更新",
  "home.enrolling": "证件添加尚未完成。",
  "home.continueEnrol": "继续添加证件",
  "home.revoked": "此证件在本设备上已失效。它已被吊销，例如因为已转移到另一台设备。",
  "home.enrolAgain": "重新添加证件",
  "home.renewing": "证件更新已开始但尚未完成。",
  "home.continueRenew": "继续更新",
  "home.noTiers": "目前无法出示任何信息。",

  "state.not_enrolled": "未添加",
  "state.enrolling": "添加中",
  "state.active": "有效",
  "state.renewal_due": "即将到期",
  "state.renewing": "更新中",
  "state.expired": "已过期",
  "state.revoked": "已吊销",

  "tier.lightweight": "基础核验",
  "tier.upgraded": "完整信息",

  "show.title": "出示证件",
  "show.lead": "请选择对方可以看到的信息。",
  "show.pickLabel": "出示内容",
  "show.lightweightDesc": "脱敏姓名、脱敏证件号码，以及您已年满 18 周岁。",
  "show.upgradedDesc": "完整姓名、证件号码、出生日期和性别，用于入住酒店等场合。需要 PIN 码和人脸核验。",
  "show.unlockTitle": "解锁完整信息",
  "show.unlockLead": "请输入 PIN 码，随后通过简短的人脸核验确认是您本人。",
  "show.pinLabel": "您的 6 位 PIN 码",
  "show.unlock": "解锁",
  "show.qrAlt": "包含您证件信息的二维码：{tier}",
  "show.qrHelp": "请将屏幕对准扫码设备。",
  "show.countdown": "{n} 秒后刷新",
  "show.regenerated": "新的二维码已生成。",
  "show.close": "关闭",
  "show.back": "返回",
  "show.making": "正在生成二维码…",

  "renew.title": "更新证件",
  "renew.lead": "更新可使您的证件保持有效，大约需要一分钟：",
  "renew.point1": "重新进行人脸核验；",
  "renew.point2": "在本设备上生成新的密钥；",
  "renew.point3": "旧凭证将被吊销并停止使用。",
  "renew.confirm": "开始更新",
  "renew.success": "证件已更新，有效期至 {date}。",
  "renew.home": "返回我的证件",

  "history.title": "出示记录",
  "history.lead": "您在本设备上出示证件的时间。",
  "history.empty": "您还没有出示过证件。",
  "history.listLabel": "出示证件的记录",

  "settings.title": "设置",
  "settings.language": "语言",
  "settings.langSystem": "跟随系统",
  "settings.langZh": "中文",
  "settings.langEn": "English",
  "settings.issuer": "签发机构地址",
  "settings.issuerHint": "留空则使用内置的演示签发机构。",
  "settings.issuerNow": "当前使用：{url}",
  "settings.issuerDemo": "内置演示签发机构——仅供演示",
  "settings.issuerInvalid": "请输入以 https:// 或 http:// 开头的网址，或留空。",
  "settings.save": "保存",
  "settings.saved": "已保存。",
  "settings.removeTitle": "本设备上的证件",
  "settings.remove": "从本设备移除此证件",
  "settings.removeExplain": "此操作无法撤销。您的证件及出示记录将从本设备删除；如需再次使用，必须重新添加并进行人脸核验。",
  "settings.removeConfirm": "确定移除",
  "settings.removeCancel": "保留",
  "settings.pin": "您的 PIN 码（更改签发机构地址时需要）",
  "settings.removePin": "您的 PIN 码（移除证件时需要）",
  "settings.pinTitle": "PIN 码",
  "settings.changePin": "修改 PIN 码",
  "settings.about": "关于",
  "settings.version": "{name} {version} · {os}（{arch}）",

  "error.detail": "详细信息：{message}",
  "error.no_camera": "未找到摄像头。请连接摄像头，或使用演示录像。",
  "error.camera": "无法使用摄像头。请关闭正在使用摄像头的其他应用后重试。",
  "error.issuer_unreachable": "无法连接签发机构。请检查网络连接后重试。",
  "error.issuer_untrusted": "该服务器无法证明自己是您的证件签发机构，或其应答在传输途中被篡改。未发送任何信息。请在设置中检查签发机构地址和网络。",
  "error.face_mismatch": "您的面部与登记照片不一致。请在光线充足处、不戴眼镜或口罩重试。",
  "error.liveness_failed": "人脸核验未完成。请重试，并按屏幕上的每一步操作。",
  "error.quality": "照片不够清晰：{guidance}。请重试。",
  "error.wrong_pin": "PIN 码错误。还可尝试 {n} 次，之后需要等待。",
  "error.wrong_pin_unknown": "PIN 码错误，请重试。",
  "error.pin_locked": "PIN 码错误次数过多。请等待 {n} 秒后重试。",
  "error.pin_format": "PIN 码必须是 6 位数字。",
  "error.pin_mismatch": "两次输入的 PIN 码不一致，请输入相同的 6 位数字。",
  "error.pin_not_set": "请先设置 PIN 码。",
  "error.pin_required": "请输入 PIN 码以进行此更改。",
  "error.pin_weak": "此 PIN 码太容易被猜到，请换一个。",
  "error.pin_weak.same_digit": "此 PIN 码是同一个数字重复。请选择不全相同的 6 位数字。",
  "error.pin_weak.sequence": "此 PIN 码是连续数字（如 123456 或 654321）。请选择没有顺序的数字。",
  "error.pin_weak.repeated": "此 PIN 码重复了一组数字（如 121212 或 123123）。请选择没有规律的 6 位数字。",
  "error.pin_weak.birth_date": "此 PIN 码是您的出生日期，证件上印有此信息。请选择与您个人信息无关的数字。",
  "error.pin_weak.common": "这是最常被使用的 PIN 码之一。请选择不常见的数字。",
  "error.invalid_id_number": "这不是有效的身份证号码。请核对身份证上的 18 位号码。",
  "error.unknown_id_number": "签发机构没有此身份证号码的记录。请核对号码，或联系签发机关。",
  "error.already_enrolled": "此证件已添加在另一台设备上。",
  "error.rate_limited": "尝试次数过多。请等待几分钟后重试。",
  "error.challenge_expired": "人脸核验用时过长，请重新开始。",
  "error.revoked": "此证件已被吊销。如需在本设备上使用，请重新添加。",
  "error.not_enrolled": "本设备上还没有证件。",
  "error.unlock_expired": "完整信息已重新锁定。请输入 PIN 码解锁。",
  "error.keystore": "无法使用本设备的安全存储。请重启设备后重试。",
  "error.issuer_refused": "签发机构拒绝了请求。请稍后重试，或联系签发机关。",
  "error.invalid_input": "输入的内容无效，请检查后重试。",
  "error.internal": "Tessera 出现问题。请重试；如果问题持续，请重启应用。",
};

export type Lang = "zh-CN" | "en";

const dictionaries: Record<Lang, Record<Key, string>> = { en, "zh-CN": zhCN };

let current: Lang = "en";

export function setLang(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang;
  document.title = t("app.title");
}

export function lang(): Lang {
  return current;
}

/** zh, zh-CN, zh-Hans-CN… → zh-CN; anything else → en. */
export function langFromLocale(locale: string | null | undefined): Lang {
  return locale && /^zh\b/i.test(locale) ? "zh-CN" : "en";
}

/** The translation of `key`, with {name} placeholders filled in from `vars`. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  // `?? key` only matters if Rust sends a code this build does not know; never for typed keys.
  const text = dictionaries[current][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

// Explicit fields rather than dateStyle/ListFormat: the oldest supported webview
// (Safari 13-class WebKitGTK) lacks those.

/** A calendar date in the chosen language (Unix seconds in). */
export function formatDate(unixSeconds: number): string {
  return new Intl.DateTimeFormat(current, { year: "numeric", month: "long", day: "numeric" }).format(
    unixSeconds * 1000,
  );
}

/** Date and time in the chosen language (Unix seconds in). */
export function formatDateTime(unixSeconds: number): string {
  return new Intl.DateTimeFormat(current, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  }).format(unixSeconds * 1000);
}

/** A list joined with the language's separator ("a, b" / "a、b"). */
export function formatList(items: string[]): string {
  return items.join(t("list.sep"));
}

/** Whether `key` is in the dictionaries (for codes that come from Rust at run time). */
export function hasKey(key: string): key is Key {
  return Object.prototype.hasOwnProperty.call(en, key);
}

/** All keys, for tests that check no key is ever shown raw. */
export const allKeys = Object.keys(en) as Key[];
