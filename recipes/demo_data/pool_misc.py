# ruff: noqa: E501
"""Hand-written material for the planted problems and the instruction data."""

# --- wrong-language sentence pools -------------------------------------------------

JA = """
今日は朝から雨が降っていて、とても寒い一日でした。
駅の近くに新しいパン屋ができたので、週末に行ってみるつもりです。
日本の夏はとても蒸し暑く、多くの人が海や山へ出かけます。
このレストランのラーメンはスープが濃厚で、いつも行列ができています。
来月から新しいプロジェクトが始まるので、準備に追われています。
京都には古いお寺や神社がたくさんあり、一年中観光客でにぎわっています。
子どもたちは公園でサッカーをしたり、鬼ごっこをしたりして遊んでいました。
最近、在宅勤務をする人が増えてきました。
図書館で借りた本を返すのを忘れてしまいました。
桜の季節になると、多くの人がお花見を楽しみます。
電車が遅れたため、会議に十分ほど遅刻してしまいました。
健康のために、毎朝三十分ほど散歩をしています。
この町は温泉で有名で、週末には多くの家族連れが訪れます。
新しいスマートフォンは電池の持ちが良く、写真もきれいに撮れます。
祖母は毎年、庭でとれた梅で梅干しを作っています。
""".strip().splitlines()

KO = """
오늘은 날씨가 맑아서 친구들과 함께 한강 공원에 갔습니다.
이 식당의 김치찌개는 맛있기로 유명해서 점심시간마다 사람이 많습니다.
요즘 많은 사람들이 건강을 위해 아침마다 운동을 합니다.
서울의 지하철은 깨끗하고 편리해서 관광객들에게 인기가 많습니다.
다음 주에 중요한 시험이 있어서 도서관에서 공부하고 있습니다.
가을이 되면 산에 단풍이 들어 정말 아름답습니다.
우리 회사는 올해 새로운 제품을 출시할 계획입니다.
할머니께서는 매년 겨울마다 김장을 하십니다.
주말에는 가족과 함께 영화를 보거나 외식을 합니다.
이 책은 어린이들이 과학을 쉽게 이해할 수 있도록 쓰였습니다.
버스를 놓쳐서 회사에 조금 늦게 도착했습니다.
새로 이사한 집은 역에서 가깝고 조용해서 마음에 듭니다.
한국어를 배우는 외국인 학생들이 점점 늘어나고 있습니다.
여름 방학 동안 제주도로 가족 여행을 다녀왔습니다.
""".strip().splitlines()

RU = """
Сегодня утром в Москве шёл снег, и на дорогах образовались большие пробки.
Мой брат учится в университете и мечтает стать инженером.
Летом мы обычно ездим на дачу, где выращиваем овощи и ягоды.
Этот музей хранит одну из крупнейших коллекций русской живописи.
Врачи советуют больше гулять на свежем воздухе и меньше сидеть за компьютером.
В библиотеке можно бесплатно взять книги и журналы на две недели.
Новый мост через реку откроют для движения в конце года.
Многие студенты подрабатывают по вечерам, чтобы оплатить учёбу.
Поезд из Санкт-Петербурга прибыл на вокзал точно по расписанию.
В нашем городе открылся новый парк с детскими площадками и велосипедными дорожками.
Бабушка испекла пироги с капустой и пригласила всех соседей на чай.
Учёные продолжают изучать влияние климата на леса Сибири.
Футбольный матч закончился вничью, и болельщики были разочарованы.
Осенью в парке особенно красиво, когда листья становятся жёлтыми и красными.
""".strip().splitlines()

FR = """
Ce matin, il pleuvait à Paris et les rues étaient presque vides.
Ma sœur travaille dans une petite librairie près de la gare.
Pendant les vacances d'été, nous partons souvent à la mer en Bretagne.
Ce restaurant propose une cuisine traditionnelle à des prix raisonnables.
Les élèves doivent rendre leurs devoirs avant la fin de la semaine.
La mairie a annoncé la construction d'une nouvelle piscine municipale.
Il est important de manger des fruits et des légumes tous les jours.
Le musée du Louvre accueille chaque année des millions de visiteurs.
Nous avons pris le train de nuit pour aller jusqu'à Marseille.
Les prix de l'énergie ont beaucoup augmenté depuis l'année dernière.
Mon grand-père raconte toujours des histoires de sa jeunesse à la campagne.
Le festival de musique attire des artistes venus du monde entier.
Il faut réserver sa table à l'avance, car le restaurant est souvent complet.
Le marché du samedi matin est le meilleur endroit pour acheter des fromages locaux.
""".strip().splitlines()

DE = """
Heute Morgen war es sehr kalt, und auf den Straßen lag überall Schnee.
Mein Bruder studiert Maschinenbau an der Technischen Universität in München.
Im Sommer fahren wir oft mit dem Fahrrad an den See.
Die Bibliothek ist von Montag bis Samstag bis zwanzig Uhr geöffnet.
Viele Menschen arbeiten inzwischen mindestens zwei Tage pro Woche von zu Hause aus.
Der Zug nach Hamburg hatte wegen einer Störung eine Stunde Verspätung.
Auf dem Wochenmarkt kaufen wir frisches Obst und Gemüse aus der Region.
Die Stadt plant, mehr Radwege und Grünflächen zu bauen.
Meine Großmutter backt jeden Sonntag einen Apfelkuchen für die ganze Familie.
Das neue Museum zeigt Werke von Künstlern aus dem zwanzigsten Jahrhundert.
Die Kinder spielen nach der Schule gern Fußball im Park.
Die Preise für Lebensmittel sind im letzten Jahr deutlich gestiegen.
Wir haben unseren Urlaub dieses Jahr in den Alpen verbracht.
Am Wochenende besuchen wir oft unsere Freunde auf dem Land.
""".strip().splitlines()

# --- Chinese spam / boilerplate ----------------------------------------------------

ZH_ADS = [
    "点击这里免费下载最新版！",
    "加微信{wx}，免费领取内部学习资料。",
    "限时优惠，全场五折，立即抢购！",
    "新用户免费注册即送100元红包，先到先得！",
    "扫码关注公众号，获取更多福利。",
    "日赚500元，在家就能做的兼职，详情加QQ：{qq}",
    "正品保证，假一赔十，全国包邮！",
    "【广告】点击链接领取大额优惠券：http://t.cn/{code}",
    "最新电影免费在线观看，高清无广告，点击进入。",
    "本站所有资源均可免费下载，点击下方按钮立即获取。",
    "咨询热线：400-{tel}，7×24小时在线服务。",
    "免费下载！免费下载！免费下载！",
    "点击这里，马上领取你的专属优惠！",
    "想了解更多赚钱方法，请加微信{wx}。",
    "低价出售各类会员账号，需要的加微信{wx}。",
]
ZH_NAV = [
    "首页 | 新闻 | 体育 | 财经 | 娱乐 | 关于我们 | 联系我们",
    "首页 | 产品中心 | 解决方案 | 新闻动态 | 关于我们",
    "当前位置：首页 > 新闻中心 > 正文",
    "上一篇：没有了 下一篇：没有了",
    "版权所有 © 2008-2023 本网站 保留所有权利",
    "京ICP备{icp}号",
    "网站地图 | 隐私政策 | 免责声明 | 友情链接",
    "分享到：微信 微博 QQ空间",
    "责任编辑：小王",
    "扫一扫 手机浏览",
    "登录 | 注册 | 找回密码",
    "热门推荐 | 最新文章 | 排行榜",
    "返回顶部",
    "相关阅读",
    "本文来源于网络，如有侵权请联系删除。",
]
ZH_KEYWORDS = [
    ["减肥茶", "减肥茶价格", "减肥茶哪个牌子好", "减肥茶效果", "减肥茶排行榜", "正品减肥茶", "减肥茶官网", "减肥茶批发"],
    ["手机壳", "手机壳批发", "手机壳定制", "手机壳厂家", "手机壳图片", "个性手机壳", "手机壳价格", "手机壳哪家好"],
    ["英语培训", "英语培训机构", "英语培训哪家好", "少儿英语培训", "成人英语培训", "英语培训价格", "在线英语培训"],
    ["二手车", "二手车交易", "二手车报价", "二手车市场", "二手车评估", "个人二手车", "二手车出售", "二手车网"],
    ["装修公司", "装修公司排名", "装修公司哪家好", "装修公司报价", "家装公司", "装修效果图", "装修公司电话"],
    ["北京租房", "北京租房网", "北京租房信息", "北京个人租房", "北京租房价格", "北京短租", "北京合租"],
]
ZH_REPEAT_CHARS = ["哈", "顶", "啊", "好", "赞", "！", "6", "～", "。", "呵"]
ZH_SPAM_LINES = [
    "欢迎访问本站，更多精彩内容请关注我们的公众号。",
    "本站提供最全最新的资源下载，欢迎收藏本站。",
    "喜欢本文请点赞、转发、收藏，谢谢支持！",
    "请记住本站最新网址，防止走丢。",
    "感谢您的阅读，欢迎下次光临。",
]

ZH_FOOTERS = [
    "本文来源于网络，如有侵权请联系删除。",
    "（本文为作者原创，转载请注明出处。）",
    "声明：本文仅代表作者个人观点，与本站无关。",
    "更多精彩内容，请关注我们的官方账号。",
]

ZH_TOO_SHORT = [
    "登录后查看更多内容。",
    "页面不存在，请返回首页。",
    "暂无评论。",
    "本文已被删除。",
    "加载中，请稍候……",
    "抱歉，您访问的页面不存在。",
    "该内容仅对会员开放。",
    "谢谢分享！",
    "文章正在审核中，请稍后再来。",
    "沙发！",
    "附件下载",
    "点击查看原图",
]

# --- English spam / boilerplate ----------------------------------------------------

EN_KEYWORDS = [
    ["cheap flights", "cheap flights to london", "cheap flight deals", "best cheap flights", "last minute flights", "cheap airline tickets", "cheap flights online"],
    ["weight loss", "weight loss tips", "fast weight loss", "weight loss pills", "best weight loss diet", "weight loss supplements", "lose weight fast"],
    ["car insurance", "cheap car insurance", "car insurance quotes", "best car insurance", "car insurance online", "compare car insurance"],
    ["buy followers", "buy instagram followers", "cheap followers", "real followers", "instant followers", "buy likes cheap"],
    ["seo services", "best seo services", "cheap seo", "seo company", "seo agency", "local seo services", "seo backlinks"],
]
EN_SUBSCRIBE = [
    "Click here to subscribe to our newsletter!",
    "Sign up now and get 20% off your first order.",
    "Share on Facebook | Tweet | Pin it | Email",
    "Read more »",
    "Subscribe to our YouTube channel for daily updates.",
    "Don't miss out! Click here to subscribe.",
    "Follow us on Twitter and Instagram.",
    "Home | About Us | Services | Blog | Contact",
    "Copyright © 2023 All rights reserved.",
    "Terms of Use | Privacy Policy | Sitemap",
]
EN_COOKIE_JS = [
    "JavaScript must be enabled in your browser to view this page.",
    "Please enable JavaScript to continue.",
    "We use cookies to improve your experience. By continuing to browse, you agree to our cookie policy.",
    "Accept all cookies | Manage preferences",
    "This site uses cookies. Read our cookie policy to learn more.",
    "Your browser does not support JavaScript. Some features may not work.",
    "By using this website you accept our terms of use and privacy policy.",
]
LOREM = [
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
    "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
    "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.",
    "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.",
    "Curabitur pretium tincidunt lacus, nulla gravida orci a odio, nullam varius turpis et commodo pharetra.",
    "Integer in mauris eu nibh euismod gravida, duis ac tellus et risus vulputate vehicula.",
]
CODE_JUNK = [
    ".header{margin:0;padding:0}.nav li{display:inline-block;float:left}",
    "var _gaq=_gaq||[];_gaq.push(['_setAccount','UA-000000-1']);_gaq.push(['_trackPageview']);",
    "function(){var e=document.createElement('script');e.async=true;e.src='/js/app.min.js';}",
    "{\"@context\":\"https://schema.org\",\"@type\":\"WebPage\",\"name\":\"Home\"}",
    "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}",
    "@media (max-width:768px){.sidebar{display:none}.content{width:100%}}",
    "if(typeof jQuery!=='undefined'){jQuery(function($){$('.menu').slideToggle();});}",
]
EN_SPAM_LINES = [
    "Buy now! Limited time offer!",
    "Best prices guaranteed, order today!",
    "Click here for more amazing deals!",
    "Free shipping on all orders!",
]
EN_FOOTERS = [
    "This article was originally published on our partner site. All rights reserved.",
    "Have a tip? Send it to our editors. Reproduction without permission is prohibited.",
    "The views expressed here are the author's own.",
]
EN_TOO_SHORT = [
    "Page not found.",
    "Loading...",
    "Sign in to continue.",
    "This content is no longer available.",
    "Thanks for sharing!",
    "Comments are closed.",
    "404 Not Found",
    "Access denied.",
    "Click to enlarge.",
    "Coming soon!",
    "No results found.",
    "Great post, thanks!",
]

# --- instruction data --------------------------------------------------------------

QA_ZH = [
    ("为什么天空是蓝色的？", "因为太阳光进入大气层后，会被空气分子散射。波长较短的蓝光比红光更容易被散射，所以从各个方向进入我们眼睛的蓝光更多，天空看起来就是蓝色的。这种现象叫作瑞利散射。"),
    ("请解释一下什么是复利。", "复利是指把每一期产生的利息加入本金，下一期再一起计算利息，也就是常说的“利滚利”。时间越长，复利的效果越明显。例如本金1000元、年利率5%，按复利计算两年后是1102.5元，而按单利计算是1100元。"),
    ("如何提高睡眠质量？", "可以从以下几个方面入手：第一，保持规律的作息，每天尽量在同一时间睡觉和起床；第二，睡前一小时不要看手机，减少屏幕光线的刺激；第三，晚上避免喝咖啡和浓茶；第四，保持卧室安静、黑暗和适宜的温度。如果长期失眠，建议咨询医生。"),
    ("写一首关于春天的四行短诗。", "春风拂过柳梢头，\n细雨轻敲小木楼。\n燕子归来寻旧垒，\n满园花影上枝头。"),
    ("“画蛇添足”是什么意思？", "“画蛇添足”出自《战国策》，讲的是有人比赛画蛇，先画完的人又给蛇添上了脚，结果反而输掉了比赛。这个成语比喻做了多余的事，非但无益，反而坏事。"),
    ("推荐三种适合初学者的运动。", "1. 快走：几乎不需要装备，对关节压力小。\n2. 游泳：全身运动，适合体重较大或关节不好的人。\n3. 骑自行车：既能锻炼心肺功能，又可以作为通勤方式。\n刚开始时要循序渐进，每次二三十分钟即可。"),
    ("北京和上海哪个城市面积更大？", "北京的面积更大。北京市总面积约1.64万平方公里，上海市约0.63万平方公里，北京的面积是上海的两倍多。"),
    ("怎样向孩子解释为什么要刷牙？", "可以这样说：我们吃完东西以后，牙齿上会留下食物残渣，嘴里的细菌会吃这些残渣并产生酸，酸会慢慢把牙齿“咬”出小洞，这就是蛀牙。每天早晚刷牙，就是把这些残渣和细菌赶走，保护我们的牙齿。"),
    ("给我一个周末两天的杭州旅行计划。", "第一天：上午游览西湖，可以从断桥出发，沿白堤走到孤山；中午在湖边吃杭帮菜；下午去灵隐寺和飞来峰；晚上逛河坊街。\n第二天：上午去龙井村喝茶、看茶园；下午参观浙江省博物馆；傍晚乘船游京杭大运河，结束行程。"),
    ("解释一下“机器学习”和“深度学习”的区别。", "机器学习是让计算机从数据中学习规律的一类方法的总称，包括决策树、支持向量机等多种算法。深度学习是机器学习的一个分支，主要使用多层神经网络，能够自动从原始数据中提取特征，在图像识别、语音识别和自然语言处理等任务上效果突出，但通常需要更多的数据和算力。"),
    ("如何做一杯手冲咖啡？", "准备15克中细研磨的咖啡粉和250毫升92度左右的热水。先用热水润湿滤纸并预热器具，倒入咖啡粉后注入约30毫升水闷蒸30秒，然后分两到三次缓慢画圈注水，总时间控制在2分半到3分钟。"),
    ("请用一句话总结《西游记》的主要内容。", "《西游记》讲述了唐僧在孙悟空、猪八戒和沙僧的保护下，历经九九八十一难，前往西天取得真经的故事。"),
    ("什么是碳中和？", "碳中和是指一个国家、企业或个人在一定时间内直接或间接产生的二氧化碳排放总量，通过植树造林、节能减排和碳捕集等方式全部抵消，实现二氧化碳的“净零排放”。"),
    ("写一封简短的请假邮件。", "王经理：\n您好！我因身体不适，需要在明天（周四）请假一天，手头的工作已经交接给小李。如有紧急事情，可以随时给我打电话。\n谢谢！\n张明"),
    ("为什么要进行垃圾分类？", "垃圾分类可以让可回收物重新得到利用，节约资源；有害垃圾单独处理，能减少对土壤和水源的污染；厨余垃圾可以制成肥料。分类之后，需要焚烧或填埋的垃圾也会明显减少。"),
    ("列举中国的四大名著。", "中国的四大名著是《红楼梦》《西游记》《水浒传》和《三国演义》。"),
    ("如何学好英语口语？", "多听多说是关键。可以每天听一段英语音频并跟读模仿；找语伴或参加英语角练习对话；把日常想说的话试着用英语表达出来；不要怕犯错，流利度往往比完全准确更重要。"),
    ("什么是光年？", "光年是长度单位，指光在真空中一年内走过的距离，约为9.46万亿公里。它常用于表示恒星和星系之间的距离。"),
    ("简单介绍一下二十四节气。", "二十四节气是中国古人根据太阳在黄道上的位置划分的时间体系，用来指导农业生产，包括立春、雨水、惊蛰、春分等。2016年，二十四节气被列入联合国教科文组织人类非物质文化遗产代表作名录。"),
    ("电脑开机很慢怎么办？", "可以先在任务管理器中禁用不必要的开机启动项；清理磁盘空间，卸载不用的软件；检查是否有病毒；如果电脑还在使用机械硬盘，换成固态硬盘通常能大幅提升开机速度。"),
    ("“三人行，必有我师焉”是谁说的？是什么意思？", "这句话出自《论语·述而》，是孔子说的。意思是几个人一起走路，其中一定有可以做我老师的人，表达了虚心向别人学习的态度。"),
    ("怎么判断西瓜熟没熟？", "可以看、拍、摸三步：瓜皮纹路清晰、颜色深的通常比较熟；用手拍打时声音清脆、有“咚咚”声的一般是熟瓜；瓜蒂卷曲、底部的黄斑颜色偏深，也说明成熟度比较好。"),
]

QA_EN = [
    ("Why do leaves change color in autumn?", "In autumn, shorter days and cooler temperatures cause trees to stop producing chlorophyll, the green pigment used in photosynthesis. As the chlorophyll breaks down, other pigments that were there all along, such as yellow and orange carotenoids, become visible. Some trees also produce red anthocyanins in the fall."),
    ("Explain the difference between weather and climate.", "Weather describes short-term atmospheric conditions, such as today's temperature, rain or wind. Climate is the average pattern of weather in a region over a long period, usually 30 years or more. In short, weather is what you get on a given day, while climate is what you expect."),
    ("Give me three tips for writing a good cover letter.", "1. Tailor it to the job: mention the company by name and connect your experience to the role.\n2. Keep it short: three or four paragraphs on a single page is enough.\n3. Show, don't tell: use a concrete example of something you achieved instead of a list of adjectives."),
    ("What is the capital of Australia?", "The capital of Australia is Canberra. Many people guess Sydney or Melbourne, but Canberra was purpose-built as the capital in the early twentieth century, partly as a compromise between those two cities."),
    ("Write a haiku about the sea.", "Grey waves fold and break\nsalt wind carries gull voices\nthe tide takes my tracks"),
    ("How do I convert Celsius to Fahrenheit?", "Multiply the Celsius temperature by 9/5 and then add 32. For example, 20 °C × 9/5 = 36, and 36 + 32 = 68 °F."),
    ("Summarize the plot of Romeo and Juliet in two sentences.", "Two young lovers from feuding families in Verona marry in secret despite their families' hatred. A chain of misunderstandings leads both of them to take their own lives, which finally reconciles the two families."),
    ("What are the benefits of regular exercise?", "Regular exercise strengthens the heart and lungs, helps control weight, builds muscle and bone strength, and lowers the risk of diseases such as type 2 diabetes. It also improves mood and sleep and can reduce stress and anxiety."),
    ("Suggest a name for a small bakery.", "Here are a few ideas: \"Morning Crumb\", \"The Rising Loaf\", \"Butter & Bloom\" and \"Corner Oven\". A short, warm name that hints at fresh bread usually works well on a sign."),
    ("What is a prime number?", "A prime number is a whole number greater than 1 that has no positive divisors other than 1 and itself. The first few primes are 2, 3, 5, 7, 11 and 13. The number 1 is not considered prime."),
    ("How can I reduce my screen time?", "Try turning off non-essential notifications, setting app time limits in your phone's settings, and keeping your phone out of the bedroom at night. Replacing scrolling with a specific activity, like a short walk or reading, also makes the habit easier to change."),
    ("Explain what an API is to a non-programmer.", "An API, or application programming interface, is like a waiter in a restaurant. You don't go into the kitchen yourself; you tell the waiter what you want, the waiter takes the request to the kitchen and brings back your food. In the same way, an API lets one program ask another program for data or services in a well-defined way."),
    ("Write a polite reply declining a meeting invitation.", "Hi Sam,\nThank you for the invitation. Unfortunately I have a prior commitment at that time and won't be able to attend. Could you share the notes afterwards? I'd be happy to follow up on anything that needs my input.\nBest regards,\nAlex"),
    ("Why is the ocean salty?", "Rain slowly dissolves minerals from rocks on land, and rivers carry these dissolved salts into the sea. When seawater evaporates, the water leaves but the salt stays behind, so over millions of years the salt has built up. Hydrothermal vents on the sea floor add minerals as well."),
    ("What's the difference between \"affect\" and \"effect\"?", "In most cases, \"affect\" is a verb meaning to influence something, while \"effect\" is a noun meaning the result of a change. For example: \"The weather affected our plans\" and \"The new rule had a big effect.\""),
    ("How long should I boil an egg?", "For a soft-boiled egg with a runny yolk, boil it for about 6 minutes. For a firm white and a slightly soft yolk, go for 8 minutes, and for a fully hard-boiled egg, about 10 to 12 minutes. Cool the eggs in cold water afterwards so they are easier to peel."),
    ("Name three renewable energy sources.", "Solar power, wind power and hydropower are three common renewable energy sources. Geothermal energy and biomass are other examples."),
    ("What causes thunder?", "Lightning heats the air around it to extremely high temperatures in a fraction of a second. The air expands so quickly that it creates a shock wave, which we hear as thunder. Because light travels faster than sound, we see the flash before we hear the rumble."),
    ("Give a short definition of photosynthesis.", "Photosynthesis is the process by which plants, algae and some bacteria use sunlight to turn carbon dioxide and water into glucose, releasing oxygen as a by-product."),
    ("How do I politely ask my neighbor to turn down their music?", "Pick a calm moment, knock on their door and keep it friendly, for example: \"Hi, sorry to bother you. I have to get up early for work and the music is coming through quite loudly. Would you mind turning it down a little after ten?\" Most people are happy to help when asked politely."),
    ("What does HTTP stand for?", "HTTP stands for Hypertext Transfer Protocol. It is the protocol web browsers and servers use to exchange web pages and other resources; HTTPS is the encrypted version."),
    ("Is a tomato a fruit or a vegetable?", "Botanically, a tomato is a fruit, because it develops from the flower of the plant and contains seeds. In cooking, however, it is usually treated as a vegetable because of its savory flavor."),
]

SYSTEM_ZH = [
    "你是一个乐于助人的AI助手。",
    "你是一位耐心的老师，请用简单易懂的语言回答问题。",
    "请用简洁的中文回答用户的问题。",
]
SYSTEM_EN = [
    "You are a helpful assistant.",
    "You are a concise assistant. Keep answers short and accurate.",
    "You are a friendly tutor who explains things step by step.",
]

# --- parallel-data helpers ---------------------------------------------------------

URL_PAIRS = [
    ("更多信息请访问 {url}。", "For more information, please visit {url}."),
    ("报名链接：{url}", "Registration link: {url}"),
    ("完整的报告可以在 {url} 下载。", "The full report can be downloaded at {url}."),
    ("详情请参阅官方网站 {url}。", "For details, see the official website at {url}."),
    ("活动的直播地址是 {url}。", "The event will be streamed live at {url}."),
    ("常见问题的解答见 {url}。", "Answers to common questions are available at {url}."),
]
SHORT_PAIRS = [
    ("好。", "OK."), ("谢谢", "Thanks"), ("是的", "Yes"), ("再见", "Bye"),
    ("你好", "Hello"), ("对", "Right"), ("不", "No"), ("嗯", "Hmm"), ("加油", "Go"), ("晚安", "Night"),
]
IDENTICAL_TEXTS = [
    "iPhone 15 Pro Max 256GB",
    "https://www.example.com/index.html",
    "2023-10-01",
    "Copyright © 2023",
    "Python 3.11",
    "ISBN 978-7-111-54742-6",
]
