"""Small hand-written documents for curation tests (the demo data set is larger and lives in recipes/)."""

ZH_GOOD = [
    "人工智能是计算机科学的一个分支，它试图了解智能的实质，并生产出一种能以与人类智能相似的方式做出反应的机器。"
    "该领域的研究包括机器人、语言识别、图像识别、自然语言处理和专家系统等。\n"
    "自从人工智能诞生以来，理论和技术日益成熟，应用领域也在不断扩大。可以设想，未来人工智能带来的科技产品，将会是人类智慧的容器。",
    "春天来了，公园里的花都开了。孩子们在草地上放风筝，老人们在树下下棋。湖边的柳树长出了新芽，微风吹过，水面泛起一圈圈涟漪。\n"
    "我和朋友们沿着湖边散步，一边聊天一边欣赏美丽的景色。这是一年中最舒服的季节，不冷也不热，大家都很喜欢出门走走。",
    "做红烧肉的时候，先把五花肉切成小块，放进冷水锅里焯一下，去掉血沫。然后在锅里放少量油和冰糖，小火炒出糖色。\n"
    "把肉块倒进去翻炒均匀，加入生抽、老抽、料酒和适量的热水，大火烧开后转小火慢炖一个小时。最后大火收汁，一道香甜软糯的红烧肉就做好了。",
    "长城是中国古代的军事防御工程，修筑的历史可以上溯到西周时期。秦朝统一六国以后，把各国的长城连接起来，形成了万里长城。\n"
    "现在我们看到的长城大多是明朝修建的，它东起山海关，西到嘉峪关，全长六千多公里。每年都有大量游客来这里参观，感受古人的智慧。",
]
ZH_MIXED_TECH = (
    "使用 git clone 命令可以把远程仓库复制到本地。例如：\n\n"
    "git clone https://example.com/repo.git\ncd repo\npip install -e .\n\n"
    "上面的命令会下载代码并安装依赖。如果你在安装过程中遇到问题，可以先升级 pip，然后再试一次。这个方法在大多数系统上都适用。\n"
    "参数说明：-r, --recursive 递归复制目录；-v, --verbose 显示详细的处理过程，方便排查错误。"
)
ZH_TRADITIONAL = (
    "這是一篇繁體中文的文章。台灣的夜市非常有名，每到晚上，街道兩旁擺滿了各種小吃攤位，吸引了許多觀光客。"
    "我們在夜市裡吃了蚵仔煎、珍珠奶茶和臭豆腐，感覺非常滿足，大家都說下次還要再來。"
)
ZH_SPAM = "点击这里免费下载！\n" * 12 + "加微信领取优惠券，限时抢购，先到先得。"
EN_GOOD = [
    "The city library reopened last week after a long renovation. Visitors can now use a larger reading room, "
    "a quiet study area on the second floor, and a children's corner with hundreds of new picture books. "
    "The librarians said the project took almost two years because the old building needed a new roof and better heating. "
    "Many residents came on the first day, and some of them brought their grandchildren to choose books together. "
    "The library is open every day except Monday, and membership remains free for everyone who lives in the area.",
    "Learning to cook at home is one of the simplest ways to eat better and save money. Start with a few basic dishes "
    "that you enjoy, such as a vegetable soup, a simple pasta, or a stir fry with rice. Buy fresh ingredients once or twice "
    "a week and plan your meals in advance, so that nothing goes to waste. Over time you will learn which spices you like, "
    "how long different vegetables need to cook, and how to adjust a recipe when something is missing from your kitchen. "
    "Cooking with friends or family also makes the evening more fun.",
]
EN_SPAM = "buy cheap watches buy cheap watches best price best price click here click here " * 8
FR_TEXT = (
    "La ville a inauguré une nouvelle bibliothèque au centre historique. Les habitants peuvent y emprunter des livres, "
    "des films et des disques, et participer à des ateliers de lecture pour les enfants le mercredi après-midi."
)
