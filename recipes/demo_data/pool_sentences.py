# ruff: noqa: E501
"""Hand-written bilingual (zh | en) sentence pool used by generate.py.

Each topic holds sentence pairs that are real translations of each other.
Slots in braces ({city}, {person}, {year}, {pct}, {num}, {big}, {month},
{dish}, {sport}, {subject}, {city2}) are filled by generate.py with the same
value on both sides, so numbers always match in the clean data.
Digits that appear on one side also appear on the other.
"""

TOPICS_RAW = [
    ("tech", "科技", "technology", """
近年来，智能手机已经成为人们日常生活中不可缺少的工具。 | In recent years, smartphones have become an indispensable tool in people's daily lives.
人工智能技术正在改变医疗、金融和教育等多个行业。 | Artificial intelligence is transforming many industries, including healthcare, finance and education.
{year}年，{city}的一家初创公司推出了一款可以实时翻译方言的应用。 | In {year}, a startup in {city} launched an app that can translate regional dialects in real time.
很多用户并不清楚自己的个人数据是如何被收集和使用的。 | Many users do not know how their personal data is collected and used.
云计算让小企业也能以较低的成本使用强大的服务器。 | Cloud computing allows small businesses to use powerful servers at a relatively low cost.
专家建议，重要的文件至少应该在两个不同的地方备份。 | Experts recommend that important files be backed up in at least two different places.
据统计，该市{pct}%的家庭已经接入了千兆光纤网络。 | According to statistics, {pct}% of households in the city already have gigabit fiber connections.
开源软件的发展离不开全世界志愿者的贡献。 | The development of open-source software depends on contributions from volunteers all over the world.
电动汽车的电池技术在过去十年里取得了很大进步。 | Battery technology for electric vehicles has made great progress over the past decade.
工程师{person}说，他们的团队花了{num}个月才解决这个问题。 | Engineer {person} said it took the team {num} months to solve the problem.
使用强密码并开启两步验证，可以有效降低账号被盗的风险。 | Using strong passwords and enabling two-step verification can effectively reduce the risk of account theft.
这款笔记本电脑重量不到一公斤，续航时间却可以达到十几个小时。 | This laptop weighs less than one kilogram, yet its battery can last more than ten hours.
5G网络的普及为自动驾驶和远程医疗提供了新的可能。 | The spread of 5G networks has opened up new possibilities for self-driving cars and remote medicine.
很多老年人在使用手机支付时仍然会遇到困难。 | Many elderly people still have difficulties when paying with their phones.
程序员常常需要花大量时间阅读别人写的代码。 | Programmers often need to spend a lot of time reading code written by others.
这次系统升级修复了{num}个安全漏洞，并提高了运行速度。 | This system update fixed {num} security vulnerabilities and improved performance.
芯片制造是一个极其复杂的过程，需要数百道工序。 | Chip manufacturing is an extremely complex process that requires hundreds of steps.
虚拟现实设备目前主要用于游戏，但在培训领域也开始受到重视。 | Virtual reality headsets are currently used mainly for games, but they are also gaining attention in training.
在网上购物时，消费者应当注意辨别虚假的商品评价。 | When shopping online, consumers should learn to spot fake product reviews.
这家公司在{city}新建了一座数据中心，主要使用可再生能源供电。 | The company has built a new data center in {city} that runs mainly on renewable energy.
机器学习模型的效果在很大程度上取决于训练数据的质量。 | The performance of a machine learning model depends largely on the quality of its training data.
越来越多的人开始用智能音箱查询天气、播放音乐。 | More and more people use smart speakers to check the weather and play music.
网络安全公司发现，钓鱼邮件的数量比去年增加了{pct}%。 | A cybersecurity firm found that the number of phishing emails increased by {pct}% compared with last year.
如果电脑运行变慢，可以先检查后台是否有占用大量内存的程序。 | If your computer is running slowly, first check whether any background programs are using a lot of memory.
无人机已经被广泛用于农田巡查和电力线路检测。 | Drones are now widely used for inspecting farmland and power lines.
一些学校开设了编程课程，让孩子从小接触计算思维。 | Some schools have introduced programming classes so that children are exposed to computational thinking from an early age.
3D打印技术可以在几个小时内制造出复杂的零件模型。 | 3D printing can produce complex part prototypes within a few hours.
科技的进步带来了便利，也带来了新的伦理问题。 | Technological progress brings convenience, but it also raises new ethical questions.
"""),
    ("history", "历史", "history", """
秦始皇在公元前221年统一六国，建立了中国历史上第一个统一的中央集权王朝。 | In 221 BC, Qin Shi Huang unified the six states and founded the first unified, centralized dynasty in Chinese history.
丝绸之路不仅是一条贸易路线，也是东西方文化交流的重要通道。 | The Silk Road was not only a trade route but also an important channel for cultural exchange between East and West.
唐朝的长安是当时世界上人口最多的城市之一。 | Chang'an under the Tang dynasty was one of the most populous cities in the world at the time.
造纸术、印刷术、火药和指南针被称为中国古代的四大发明。 | Papermaking, printing, gunpowder and the compass are known as the Four Great Inventions of ancient China.
明朝初年，郑和曾率领庞大的船队七次下西洋。 | In the early Ming dynasty, Zheng He led a huge fleet on seven voyages to the Western Oceans.
考古学家在{city}附近发现了一批汉代墓葬，出土文物达{big}件。 | Archaeologists discovered a group of Han dynasty tombs near {city}, unearthing {big} artifacts.
长城的修建历经多个朝代，今天我们看到的大部分城墙建于明代。 | The Great Wall was built over many dynasties, and most of the walls we see today date from the Ming dynasty.
宋代的商业十分繁荣，还出现了世界上最早的纸币“交子”。 | Commerce flourished in the Song dynasty, which also saw the world's earliest paper money, the jiaozi.
历史学家{person}认为，这些古代文献对研究当时的社会生活很有价值。 | Historian {person} believes that these ancient documents are very valuable for studying social life at the time.
故宫始建于明朝永乐年间，是世界上现存规模最大的木结构宫殿建筑群。 | The Forbidden City was begun during the Yongle reign of the Ming dynasty and is the largest surviving complex of wooden palace buildings in the world.
甲骨文是目前已知最早的成体系的汉字。 | Oracle bone script is the earliest known systematic form of Chinese writing.
大运河连接了南北方，对古代中国的经济发展起到了重要作用。 | The Grand Canal connected the north and the south and played an important role in the economic development of ancient China.
许多古城的城墙在二十世纪被拆除，只有少数得以完整保存。 | The walls of many ancient cities were torn down in the twentieth century, and only a few have survived intact.
博物馆里的这件青铜器已有三千多年的历史。 | This bronze vessel in the museum is more than three thousand years old.
科举制度从隋朝开始，一直延续到清朝末年才被废除。 | The imperial examination system began in the Sui dynasty and lasted until it was abolished at the end of the Qing dynasty.
在古代，驿站是传递公文和接待官员的重要设施。 | In ancient times, post stations were important facilities for delivering official documents and receiving officials.
{year}年，当地政府对这座清代古桥进行了全面修缮。 | In {year}, the local government carried out a full restoration of this Qing dynasty bridge.
阅读历史可以帮助我们理解今天的许多社会现象。 | Reading history can help us understand many social phenomena of today.
孔子的思想对东亚地区产生了深远的影响。 | The thought of Confucius has had a profound influence on East Asia.
这座古镇保留了大量明清时期的民居和石板路。 | This ancient town has preserved many Ming and Qing dynasty houses and stone-paved streets.
敦煌莫高窟保存了从四世纪到十四世纪的大量壁画和塑像。 | The Mogao Caves at Dunhuang preserve a large number of murals and statues from the fourth to the fourteenth century.
《史记》是西汉史学家司马迁撰写的一部纪传体通史。 | The Records of the Grand Historian is a general history in biographical form written by the Western Han historian Sima Qian.
清朝末年，中国社会经历了剧烈的变革。 | At the end of the Qing dynasty, Chinese society went through dramatic changes.
地方志记录了一个地区的地理、人物和风俗，是重要的史料。 | Local gazetteers record the geography, people and customs of a region and are important historical sources.
这次展览共展出文物{big}件，其中不少是首次公开亮相。 | The exhibition displays {big} cultural relics, many of which are being shown to the public for the first time.
古代工匠在没有现代机械的条件下完成了许多宏伟的工程。 | Ancient craftsmen completed many magnificent projects without modern machinery.
历史并不只是帝王将相的故事，也包括普通人的日常生活。 | History is not only the story of emperors and generals; it also includes the daily lives of ordinary people.
通过对比不同时期的地图，可以看出城市的边界不断向外扩展。 | By comparing maps from different periods, one can see that the city's boundaries kept expanding outward.
"""),
    ("cooking", "美食", "food and cooking", """
{dish}是一道非常受欢迎的家常菜，做法并不复杂。 | {dish} is a very popular home-style dish, and it is not difficult to make.
做红烧肉时，先把五花肉切块焯水，再用小火慢慢炖。 | To make braised pork, cut the pork belly into pieces, blanch them, and then simmer slowly over low heat.
炒青菜的关键是火要大，时间要短。 | The key to stir-frying greens is high heat and a short cooking time.
很多南方人早餐喜欢喝粥，配上咸菜和鸡蛋。 | Many people in the south like to have porridge for breakfast, with pickles and eggs.
在{city}，几乎每条街上都能找到一家卖{dish}的小店。 | In {city}, you can find a small restaurant selling {dish} on almost every street.
包饺子是北方家庭过年时的传统习俗。 | Making dumplings is a traditional custom for northern families during the Spring Festival.
炖汤时不宜过早放盐，否则肉质容易变硬。 | When making soup, do not add salt too early, or the meat may become tough.
四川菜以麻辣著称，花椒和辣椒是最常用的调料。 | Sichuan cuisine is famous for being numbing and spicy, and Sichuan pepper and chili are the most common seasonings.
这道菜只需要{num}种材料，二十分钟就能做好。 | This dish needs only {num} ingredients and can be ready in twenty minutes.
蒸鱼的时间一般控制在八到十分钟，鱼肉才会鲜嫩。 | Fish should usually be steamed for eight to ten minutes so that the flesh stays tender.
厨师{person}说，好的高汤是一家餐馆的灵魂。 | Chef {person} says that a good stock is the soul of a restaurant.
和面时水要分几次加入，这样面团才会光滑。 | When kneading dough, add the water in several portions so that the dough becomes smooth.
广东人讲究食材新鲜，很多菜只用简单的方法烹调。 | Cantonese people value fresh ingredients, and many dishes are cooked in simple ways.
切洋葱之前把刀沾一点水，可以减少流眼泪。 | Wetting the knife before cutting onions can reduce tears.
中秋节的时候，人们会和家人一起吃月饼、赏月亮。 | During the Mid-Autumn Festival, people eat mooncakes and admire the moon with their families.
豆腐营养丰富，价格便宜，可以做成很多不同的菜。 | Tofu is nutritious and cheap and can be made into many different dishes.
这家餐厅的{dish}味道正宗，周末经常要排队一个小时。 | This restaurant's {dish} tastes authentic, and on weekends people often have to queue for an hour.
腌肉的时候加一点淀粉，炒出来的肉会更嫩。 | Adding a little starch when marinating meat makes it more tender after stir-frying.
米饭煮好后不要马上打开锅盖，再焖几分钟会更香。 | Don't open the lid right after the rice is cooked; letting it rest for a few more minutes makes it more fragrant.
夏天天气炎热，很多人喜欢吃凉面和拍黄瓜。 | In the hot summer, many people like to eat cold noodles and smashed cucumber salad.
做蛋糕时，烤箱需要提前预热到180度。 | When baking a cake, the oven needs to be preheated to 180 degrees.
据调查，{pct}%的年轻人每周至少点三次外卖。 | According to a survey, {pct}% of young people order takeout at least three times a week.
好的酱油是用大豆经过几个月的发酵酿造而成的。 | Good soy sauce is brewed from soybeans through several months of fermentation.
火锅的吃法多种多样，各地都有自己的特色。 | There are many ways to eat hot pot, and every region has its own style.
剩菜最好放进冰箱保存，并在两天内吃完。 | Leftovers are best kept in the refrigerator and eaten within two days.
第一次做菜时，按照菜谱准确称量调料会更容易成功。 | When cooking for the first time, measuring the seasonings exactly according to the recipe makes success more likely.
这本菜谱收录了{big}道传统菜肴的做法。 | This cookbook contains recipes for {big} traditional dishes.
街边小吃虽然便宜，但一定要注意卫生。 | Street snacks are cheap, but hygiene is something you must pay attention to.
"""),
    ("travel", "旅行", "travel", """
{city}是一座历史悠久的城市，每年吸引大量游客前来参观。 | {city} is a city with a long history that attracts large numbers of visitors every year.
出发前最好查好天气预报，并准备一些常用药品。 | Before setting off, it is best to check the weather forecast and pack some common medicines.
我们坐了{num}个小时的高铁，终于在傍晚到达了{city}。 | We took the high-speed train for {num} hours and finally arrived in {city} in the evening.
旺季的机票和酒店价格往往会上涨好几倍。 | In peak season, prices for flights and hotels often rise several times over.
这条徒步路线全长约十二公里，沿途可以看到瀑布和竹林。 | This hiking trail is about twelve kilometers long, with waterfalls and bamboo forests along the way.
在古镇里住一晚，可以感受到和白天完全不同的安静。 | Staying a night in the ancient town lets you experience a quietness completely different from the daytime.
当地人非常热情，主动给我们指路，还推荐了几家好吃的小馆子。 | The locals were very friendly; they showed us the way and recommended a few good small restaurants.
{year}年，{city}接待的游客人数比上一年增长了{pct}%。 | In {year}, the number of tourists received by {city} grew by {pct}% over the previous year.
去高原旅行要注意防晒，同时要预防高原反应。 | When traveling on the plateau, protect yourself from the sun and take precautions against altitude sickness.
很多博物馆实行免费参观，但需要提前在网上预约。 | Many museums offer free admission, but visitors need to book online in advance.
自驾游的好处是时间自由，可以随时停下来拍照。 | The advantage of a road trip is that your time is your own and you can stop to take photos whenever you like.
背包客{person}花了半年时间，骑自行车走完了整条川藏线。 | Backpacker {person} spent half a year cycling the entire Sichuan-Tibet route.
景区门口有很多拉客的人，游客应当提高警惕。 | There are many touts at the entrance to scenic spots, and tourists should stay alert.
秋天是去北方看红叶的最好季节。 | Autumn is the best season to go north to see the red leaves.
这家民宿由一座老房子改造而成，院子里种满了花。 | This guesthouse was converted from an old house, and its courtyard is full of flowers.
坐船游览两岸的风景，是很多游客最难忘的经历。 | Taking a boat to see the scenery on both banks is the most memorable experience for many visitors.
出国旅行前，要确认护照的有效期是否超过六个月。 | Before traveling abroad, make sure your passport is valid for more than six months.
夜市上有各种各样的小吃和手工艺品，一直热闹到深夜。 | The night market has all kinds of snacks and handicrafts and stays lively until late at night.
从{city}到{city2}，乘坐飞机只需要两个多小时。 | Flying from {city} to {city2} takes only a little over two hours.
为了保护环境，景区里禁止游客随意丢弃垃圾。 | To protect the environment, visitors are not allowed to litter in the scenic area.
雨后的山谷云雾缭绕，像一幅水墨画。 | After the rain, the valley was shrouded in mist, like an ink-wash painting.
我建议大家早上六点之前到达山顶，这样可以看到日出。 | I suggest getting to the summit before six in the morning so you can see the sunrise.
这座城市的公共交通很方便，地铁几乎可以到达所有景点。 | Public transport in this city is very convenient, and the subway reaches almost all the sights.
旅行的意义不只是看风景，还在于认识不同的人和文化。 | The meaning of travel lies not only in seeing the scenery but also in getting to know different people and cultures.
这里的冬天非常寒冷，最低气温可以达到零下三十度。 | Winters here are extremely cold, and the lowest temperature can reach minus thirty degrees.
导游告诉我们，这座寺庙已有一千多年的历史。 | The guide told us that this temple is more than a thousand years old.
节假日出行的人很多，最好提前预订车票和住宿。 | Many people travel during holidays, so it is best to book tickets and accommodation in advance.
回程的路上，大家都在翻看手机里拍下的照片。 | On the way back, everyone was looking through the photos on their phones.
"""),
    ("science", "科学", "science", """
光合作用是植物利用阳光把二氧化碳和水转化为有机物的过程。 | Photosynthesis is the process by which plants use sunlight to convert carbon dioxide and water into organic matter.
地球绕太阳公转一周大约需要365天。 | It takes the Earth about 365 days to orbit the Sun once.
科学家{person}的团队发现了一种能在极端高温下生存的细菌。 | A team led by scientist {person} discovered a bacterium that can survive extreme heat.
水在标准大气压下的沸点是100摄氏度。 | At standard atmospheric pressure, water boils at 100 degrees Celsius.
黑洞的引力非常强，连光都无法从中逃脱。 | The gravity of a black hole is so strong that not even light can escape from it.
DNA携带着生物体的遗传信息，决定了许多生理特征。 | DNA carries the genetic information of living organisms and determines many of their physical traits.
月球本身并不发光，我们看到的月光是它反射的太阳光。 | The Moon does not produce its own light; the moonlight we see is reflected sunlight.
实验结果表明，这种新材料的强度比普通钢材高出{pct}%。 | The experimental results show that this new material is {pct}% stronger than ordinary steel.
地震是由于地壳内部积累的能量突然释放而引起的。 | Earthquakes are caused by the sudden release of energy accumulated inside the Earth's crust.
疫苗通过训练免疫系统来帮助人体抵抗疾病。 | Vaccines help the body resist disease by training the immune system.
科学研究需要大胆假设，更需要严谨的验证。 | Scientific research requires bold hypotheses and, even more, rigorous verification.
天文学家利用望远镜观测到了一颗距离地球很远的系外行星。 | Astronomers used a telescope to observe an exoplanet very far from Earth.
海洋覆盖了地球表面约71%的面积。 | Oceans cover about 71% of the Earth's surface.
声音在空气中的传播速度大约是每秒340米。 | Sound travels through air at about 340 meters per second.
这项研究历时{num}年，共采集了{big}份样本。 | The study lasted {num} years and collected {big} samples in total.
蜜蜂通过跳舞的方式告诉同伴花朵的位置。 | Bees tell their companions where flowers are by dancing.
彩虹是阳光经过空气中的水滴折射和反射后形成的。 | A rainbow forms when sunlight is refracted and reflected by water droplets in the air.
许多重大的科学发现都来自于对意外现象的仔细观察。 | Many major scientific discoveries came from careful observation of unexpected phenomena.
人体中约60%是水。 | About 60% of the human body is water.
量子计算机有望在某些问题上远远超过传统计算机。 | Quantum computers are expected to far outperform conventional computers on certain problems.
恐龙在大约6600万年前灭绝，原因可能与小行星撞击有关。 | Dinosaurs died out about 66 million years ago, possibly because of an asteroid impact.
{year}年，{city}的一所大学建成了新的天文台。 | In {year}, a university in {city} completed a new observatory.
植物的根不仅能吸收水分，还能固定土壤。 | Plant roots not only absorb water but also hold the soil in place.
化学反应的速度会受到温度和浓度的影响。 | The rate of a chemical reaction is affected by temperature and concentration.
孩子们在科学馆里亲手做实验，学习兴趣明显提高了。 | Children did experiments with their own hands at the science museum, and their interest in learning clearly increased.
候鸟每年秋天会飞行数千公里到南方过冬。 | Every autumn, migratory birds fly thousands of kilometers south for the winter.
研究人员指出，这一结论还需要更多的数据来证实。 | The researchers pointed out that this conclusion still needs more data to confirm it.
显微镜的发明让人类第一次看到了细胞的结构。 | The invention of the microscope allowed humans to see the structure of cells for the first time.
"""),
    ("economy", "经济", "the economy", """
{year}年，全市的地区生产总值同比增长了{num}%。 | In {year}, the city's gross domestic product grew by {num}% year on year.
消费是拉动经济增长的重要力量。 | Consumption is an important driver of economic growth.
近年来，越来越多的年轻人选择回到家乡创业。 | In recent years, more and more young people have chosen to return to their hometowns to start businesses.
央行宣布下调存款准备金率，以保持市场流动性合理充裕。 | The central bank announced a cut in the reserve requirement ratio to keep market liquidity reasonably ample.
物价上涨会降低人们的实际购买力。 | Rising prices reduce people's real purchasing power.
这家工厂去年的订单量增加了{pct}%，新招了{big}名工人。 | The factory's orders rose by {pct}% last year, and it hired {big} new workers.
中小企业在解决就业方面发挥着不可替代的作用。 | Small and medium-sized enterprises play an irreplaceable role in creating jobs.
经济学家{person}认为，明年的出口形势仍然面临不少挑战。 | Economist {person} believes that exports will still face many challenges next year.
网上直播带货已经成为一种新的销售模式。 | Selling goods through livestreams has become a new sales model.
房价的变化牵动着无数家庭的神经。 | Changes in housing prices affect countless families.
为了吸引投资，{city}推出了一系列税收优惠政策。 | To attract investment, {city} introduced a series of tax incentives.
理财之前，首先要了解自己能够承受多大的风险。 | Before investing, you should first understand how much risk you can bear.
农产品电商帮助许多偏远地区的农民增加了收入。 | Agricultural e-commerce has helped many farmers in remote areas increase their incomes.
港口的集装箱吞吐量是观察对外贸易的一个重要指标。 | Container throughput at ports is an important indicator for observing foreign trade.
今年前{num}个月，当地新注册的企业数量超过了去年全年。 | In the first {num} months of this year, the number of newly registered companies locally exceeded the total for all of last year.
银行提醒消费者，不要轻信高收益、零风险的投资宣传。 | Banks remind consumers not to trust advertisements promising high returns with zero risk.
旅游业的复苏带动了餐饮和住宿行业的发展。 | The recovery of tourism has boosted the restaurant and hotel industries.
很多家庭开始制定每月的预算，以控制不必要的开支。 | Many families have started making monthly budgets to control unnecessary spending.
新能源汽车产业链吸引了大量资本进入。 | The new energy vehicle industry chain has attracted large amounts of capital.
这份报告显示，服务业占经济总量的比重已经超过一半。 | The report shows that the service sector now accounts for more than half of the economy.
供应链的稳定对制造业来说至关重要。 | A stable supply chain is crucial for manufacturing.
最低工资标准的调整关系到众多劳动者的切身利益。 | Adjustments to the minimum wage directly affect the interests of many workers.
受原材料价格上涨影响，部分商品的售价提高了{pct}%。 | Because of rising raw material prices, the prices of some goods increased by {pct}%.
共享经济让闲置的资源得到了更充分的利用。 | The sharing economy has made better use of idle resources.
分析人士指出，市场信心的恢复需要一定的时间。 | Analysts point out that it will take time for market confidence to recover.
夜间经济正在成为许多城市新的增长点。 | The night-time economy is becoming a new source of growth for many cities.
小店主{person}说，这个月的营业额比上个月好了不少。 | Shop owner {person} said that this month's revenue was much better than last month's.
保险可以帮助家庭应对突如其来的经济损失。 | Insurance can help families cope with sudden financial losses.
"""),
    ("sports", "体育", "sports", """
在昨晚的比赛中，主队以{num}比1战胜了客队。 | In last night's match, the home team beat the visitors {num}-1.
{sport}是一项老少皆宜的运动，在中国拥有大量爱好者。 | {sport} is a sport suitable for all ages and has a large number of fans in China.
运动员{person}在决赛中打破了全国纪录。 | Athlete {person} broke the national record in the final.
每天坚持锻炼半小时，对身体和心情都有好处。 | Exercising for half an hour every day is good for both body and mood.
这场城市半程马拉松共有{big}0名选手参加。 | A total of {big}0 runners took part in this city half marathon.
教练说，球队的防守还有很大的提升空间。 | The coach said the team's defense still has a lot of room for improvement.
乒乓球被很多人称为中国的“国球”。 | Table tennis is called China's "national ball game" by many people.
比赛前充分热身，可以减少受伤的可能。 | Warming up properly before a match can reduce the chance of injury.
这名年轻的守门员在关键时刻扑出了点球。 | The young goalkeeper saved a penalty at a crucial moment.
女排姑娘们顽强拼搏的精神激励了一代又一代人。 | The tenacious fighting spirit of the women's volleyball team has inspired generation after generation.
{year}年的全国运动会在{city}举行。 | The {year} National Games were held in {city}.
越来越多的城市建设了免费开放的健身步道。 | More and more cities have built fitness trails that are free and open to the public.
游泳是一项全身运动，特别适合关节不好的人。 | Swimming is a full-body exercise that is especially suitable for people with joint problems.
球迷们早早来到体育场，为自己支持的球队加油。 | Fans arrived at the stadium early to cheer for the team they support.
这位老将宣布将在赛季结束后退役。 | The veteran announced that he would retire at the end of the season.
青少年足球培训在很多学校得到了推广。 | Youth football training has been promoted in many schools.
他在比赛的最后一分钟投进了一个三分球。 | He made a three-point shot in the last minute of the game.
裁判的一个争议判罚引发了双方球员的激烈争吵。 | A controversial call by the referee sparked a heated argument between players from both teams.
跑步时要选择合适的鞋子，以保护膝盖。 | Choose suitable shoes when running to protect your knees.
这支球队本赛季已经取得了{num}连胜。 | The team has won {num} games in a row this season.
冬奥会的举办让更多人爱上了滑雪和滑冰。 | Hosting the Winter Olympics made more people fall in love with skiing and skating.
体育精神不仅是争取胜利，还包括尊重对手。 | Sportsmanship is not only about striving to win but also about respecting your opponents.
据统计，{city}经常参加体育锻炼的人口比例达到了{pct}%。 | According to statistics, {pct}% of people in {city} exercise regularly.
羽毛球在东南亚国家也有着非常广泛的群众基础。 | Badminton also enjoys wide popularity in Southeast Asian countries.
受伤之后，她经过了半年的康复训练才重新回到赛场。 | After her injury, she went through half a year of rehabilitation before returning to competition.
电视台对这场比赛进行了全程直播。 | The TV station broadcast the whole match live.
周末的时候，公园里总有很多人在打太极拳。 | On weekends, there are always many people practicing tai chi in the park.
运动员{person}在赛后接受采访时感谢了家人和教练。 | In a post-match interview, athlete {person} thanked family members and the coach.
"""),
    ("health", "健康", "health", """
保证充足的睡眠是保持身体健康的基础。 | Getting enough sleep is the foundation of good health.
医生建议成年人每天至少喝1500毫升水。 | Doctors recommend that adults drink at least 1500 milliliters of water a day.
长时间看手机容易导致眼睛疲劳和颈椎不适。 | Looking at a phone for long periods can easily cause eye strain and neck discomfort.
饮食要多样化，多吃蔬菜水果，少吃油炸食品。 | Eat a varied diet with plenty of vegetables and fruit and little fried food.
一项针对{big}0名成年人的调查发现，{pct}%的人存在睡眠问题。 | A survey of {big}0 adults found that {pct}% of them had sleep problems.
感冒时要多休息，不要自行滥用抗生素。 | When you have a cold, get plenty of rest and do not misuse antibiotics on your own.
适度的运动可以缓解压力，改善情绪。 | Moderate exercise can relieve stress and improve mood.
吸烟不仅危害自己，也会影响身边人的健康。 | Smoking not only harms yourself but also affects the health of those around you.
{person}医生提醒，高血压患者要按时服药，定期测量血压。 | Dr. {person} reminds people with high blood pressure to take their medicine on time and check their blood pressure regularly.
定期体检有助于及早发现潜在的疾病。 | Regular check-ups help detect potential illnesses early.
心理健康和身体健康同样重要。 | Mental health is just as important as physical health.
饭后立即剧烈运动可能会引起腹痛。 | Strenuous exercise immediately after a meal may cause stomach pain.
儿童应该按时接种疫苗，以预防常见的传染病。 | Children should be vaccinated on schedule to prevent common infectious diseases.
盐吃得太多会增加患高血压的风险。 | Eating too much salt increases the risk of high blood pressure.
流感高发季节，出门最好戴上口罩，回家后要洗手。 | During flu season, it is best to wear a mask when going out and to wash your hands when you get home.
久坐办公的人应该每隔一小时站起来活动一下。 | People who sit at a desk all day should stand up and move around every hour.
早餐不吃或者吃得太少，会影响上午的工作效率。 | Skipping breakfast or eating too little can affect your efficiency in the morning.
{city}的社区医院开设了免费的健康讲座。 | Community hospitals in {city} have started offering free health lectures.
老年人补钙要注意方法，同时多晒太阳。 | Older people should take calcium in the right way and also get plenty of sunlight.
研究发现，每周快走{num}次以上能明显降低心脏病风险。 | Research has found that brisk walking more than {num} times a week can significantly lower the risk of heart disease.
牙齿健康需要每天早晚刷牙，并定期看牙医。 | Healthy teeth require brushing every morning and evening and visiting the dentist regularly.
如果出现持续发烧，应当及时到医院就诊。 | If you have a persistent fever, you should see a doctor promptly.
过度节食减肥可能会导致营养不良。 | Extreme dieting to lose weight can lead to malnutrition.
规律的作息能帮助身体维持良好的生物钟。 | A regular schedule helps the body maintain a healthy biological clock.
很多慢性病与不健康的生活方式密切相关。 | Many chronic diseases are closely related to unhealthy lifestyles.
夏季高温时，要避免在中午长时间待在户外。 | During the summer heat, avoid spending long periods outdoors at midday.
医院推出了线上挂号服务，患者可以提前预约就诊时间。 | The hospital has launched an online registration service so patients can book appointments in advance.
保持乐观的心态对疾病的康复也有帮助。 | Staying optimistic also helps with recovery from illness.
"""),
    ("education", "教育", "education", """
阅读习惯的培养要从小开始。 | The habit of reading should be developed from an early age.
很多家长为孩子报了各种课外辅导班。 | Many parents have signed their children up for all kinds of after-school tutoring classes.
老师{person}说，兴趣是最好的老师。 | Teacher {person} says that interest is the best teacher.
这所学校今年共有{big}名学生参加高考。 | This year, {big} students from this school took the college entrance exam.
{subject}是很多学生觉得最难的一门课。 | {subject} is the subject many students find the hardest.
在线教育让偏远地区的孩子也能听到名师的课。 | Online education allows children in remote areas to attend classes by excellent teachers.
学习语言最重要的是多听多说，不要害怕犯错。 | The most important thing in learning a language is to listen and speak a lot and not be afraid of making mistakes.
大学生毕业后面临的就业压力越来越大。 | College graduates face increasing pressure to find jobs.
这门课程要求学生每周完成一篇读书报告。 | This course requires students to complete a book report every week.
教育部门提出要减轻中小学生的作业负担。 | The education authorities have called for reducing the homework burden on primary and secondary school students.
图书馆周末开放到晚上十点，方便学生自习。 | The library stays open until ten in the evening on weekends so that students can study.
研究表明，充足的睡眠有助于提高学习成绩。 | Studies show that enough sleep helps improve academic performance.
{city}新建了{num}所小学，缓解了入学难的问题。 | {city} has built {num} new primary schools, easing the difficulty of school enrollment.
职业教育为社会培养了大量技术人才。 | Vocational education has trained a large number of skilled workers for society.
好的老师不仅传授知识，还会关心学生的成长。 | A good teacher not only passes on knowledge but also cares about students' growth.
小组合作学习可以锻炼学生的沟通能力。 | Group learning can develop students' communication skills.
期末考试前，同学们都在紧张地复习。 | Before the final exams, the students were all busy reviewing.
据调查，{pct}%的中学生每天使用手机超过两小时。 | According to a survey, {pct}% of middle school students use their phones for more than two hours a day.
学校组织学生到农村参加社会实践活动。 | The school organized students to take part in social practice activities in the countryside.
终身学习已经成为现代社会的一种必然要求。 | Lifelong learning has become an inevitable requirement of modern society.
做笔记可以帮助我们更好地理解和记忆课堂内容。 | Taking notes can help us better understand and remember what is taught in class.
这位校长在山区坚持教书已经二十多年了。 | This principal has been teaching in the mountains for more than twenty years.
家庭教育对孩子性格的形成有着重要影响。 | Family education has an important influence on the formation of a child's character.
越来越多的大学开设了人工智能相关的专业。 | More and more universities have opened majors related to artificial intelligence.
{subject}老师用生动的例子把抽象的概念讲得很清楚。 | The {subject} teacher explained abstract concepts clearly with vivid examples.
留学生需要一段时间来适应新的学习环境。 | International students need some time to adapt to a new learning environment.
考试成绩并不能完全反映一个学生的能力。 | Exam scores cannot fully reflect a student's abilities.
学校的食堂每天为学生提供营养均衡的午餐。 | The school canteen provides students with nutritionally balanced lunches every day.
"""),
    ("culture", "文化", "culture", """
春节是中国最重要的传统节日，家人会团聚在一起吃年夜饭。 | The Spring Festival is the most important traditional festival in China, when families get together for the New Year's Eve dinner.
京剧融合了唱、念、做、打等多种表演形式。 | Peking opera combines many forms of performance, including singing, recitation, acting and martial arts.
书法不仅是一种写字的技术，更是一门艺术。 | Calligraphy is not just a technique of writing but also an art.
这部电影上映{num}周，票房已经突破了十亿元。 | The film has been in cinemas for {num} weeks, and its box office has exceeded one billion yuan.
端午节有吃粽子和赛龙舟的习俗。 | The Dragon Boat Festival has the customs of eating zongzi and racing dragon boats.
作家{person}的新书讲述了一个普通家庭三代人的故事。 | Writer {person}'s new book tells the story of three generations of an ordinary family.
很多年轻人开始喜欢穿汉服参加各种活动。 | Many young people have started wearing hanfu to various events.
剪纸是一种历史悠久的民间艺术，常用于节日装饰。 | Paper cutting is a folk art with a long history that is often used for festival decorations.
{city}每年都会举办国际音乐节，吸引了来自各地的乐迷。 | {city} holds an international music festival every year, attracting music fans from all over.
茶文化在中国有着几千年的历史。 | Tea culture has a history of several thousand years in China.
这座美术馆正在展出一批当代艺术家的作品。 | This art gallery is exhibiting works by a group of contemporary artists.
传统手工艺面临着后继无人的困境。 | Traditional crafts face the problem of having no one to carry them on.
诗歌是中国文学中最古老的形式之一。 | Poetry is one of the oldest forms of Chinese literature.
元宵节晚上，街上挂满了五颜六色的花灯。 | On the night of the Lantern Festival, the streets are hung with colorful lanterns.
这部纪录片用镜头记录了普通人的生活变化。 | This documentary records changes in the lives of ordinary people.
地方戏曲是了解一个地区历史和风俗的窗口。 | Local opera is a window onto the history and customs of a region.
{year}年，这项传统技艺被列入国家级非物质文化遗产名录。 | In {year}, this traditional craft was added to the national list of intangible cultural heritage.
中国的园林艺术讲究“虽由人作，宛自天开”。 | Chinese garden art values the idea that although made by humans, a garden should look as if created by nature.
读书会每个月都会推荐{num}本好书给会员。 | The book club recommends {num} good books to its members every month.
许多外国朋友对中国的武术很感兴趣。 | Many foreign friends are very interested in Chinese martial arts.
民间故事通过一代代人的口耳相传保存了下来。 | Folk tales have been preserved by being passed down orally from generation to generation.
这家书店除了卖书，还经常举办讲座和展览。 | Besides selling books, this bookstore often holds talks and exhibitions.
不同地区的婚礼习俗有着很大的差异。 | Wedding customs differ greatly from region to region.
音乐可以跨越语言的障碍，打动不同文化背景的人。 | Music can cross language barriers and move people from different cultural backgrounds.
这场演出融合了传统乐器和现代电子音乐。 | The performance combined traditional instruments with modern electronic music.
中秋节象征着团圆，远方的游子总会思念家乡。 | The Mid-Autumn Festival symbolizes reunion, and people far from home always miss their hometowns.
博物馆推出的文创产品受到了年轻人的欢迎。 | The cultural and creative products launched by the museum have become popular with young people.
保护文化遗产需要全社会的共同努力。 | Protecting cultural heritage requires the joint efforts of the whole of society.
"""),
    ("environment", "环境", "the environment", """
垃圾分类可以提高资源的回收利用率。 | Sorting waste can increase the recycling rate of resources.
{city}今年空气质量优良的天数比去年增加了{num}天。 | This year, {city} had {num} more days of good air quality than last year.
植树造林是防治土地沙化的有效手段。 | Planting trees is an effective way to prevent land desertification.
气候变化导致极端天气事件越来越频繁。 | Climate change is making extreme weather events more and more frequent.
塑料垃圾进入海洋后，会对海洋生物造成严重伤害。 | Plastic waste that enters the ocean seriously harms marine life.
很多城市鼓励市民绿色出行，多乘坐公共交通。 | Many cities encourage residents to travel green and use public transport more.
湿地被称为“地球之肾”，对调节气候有重要作用。 | Wetlands are called "the kidneys of the Earth" and play an important role in regulating the climate.
这条河经过多年治理，水质已经明显改善。 | After years of treatment, the water quality of this river has clearly improved.
据监测，该地区的森林覆盖率已经达到{pct}%。 | According to monitoring data, forest coverage in the area has reached {pct}%.
节约用水要从日常生活中的小事做起。 | Saving water starts with small things in daily life.
太阳能和风能是最常见的清洁能源。 | Solar and wind power are the most common forms of clean energy.
环保志愿者{person}每个周末都会到海边捡垃圾。 | Environmental volunteer {person} goes to the beach every weekend to pick up litter.
过度捕捞使一些鱼类的数量急剧减少。 | Overfishing has caused the numbers of some fish species to fall sharply.
大熊猫的栖息地保护取得了显著成效。 | The protection of giant panda habitats has achieved remarkable results.
购物时自带环保袋，可以减少塑料袋的使用。 | Bringing your own reusable bag when shopping reduces the use of plastic bags.
工业废水必须经过处理才能排放。 | Industrial wastewater must be treated before it is discharged.
{year}年，这个自然保护区首次拍摄到了野生雪豹的画面。 | In {year}, this nature reserve captured footage of a wild snow leopard for the first time.
城市绿地不仅美化环境，还能降低夏季的气温。 | Urban green spaces not only beautify the environment but also lower summer temperatures.
旧衣服可以捐赠或者回收，不要随意丢弃。 | Old clothes can be donated or recycled rather than thrown away.
冰川的融化速度比科学家预测的还要快。 | Glaciers are melting even faster than scientists predicted.
一些企业开始使用可降解的包装材料。 | Some companies have started using biodegradable packaging materials.
保护生物多样性就是保护人类自己。 | Protecting biodiversity means protecting ourselves.
新能源公交车在{city}已经全面投入运营。 | New energy buses are now fully in service in {city}.
噪音污染同样会影响人们的睡眠和健康。 | Noise pollution can also affect people's sleep and health.
退耕还林政策让许多荒山重新披上了绿装。 | The policy of returning farmland to forest has turned many barren hills green again.
每个人都可以通过随手关灯来节约能源。 | Everyone can save energy by turning off the lights when leaving a room.
沙尘暴的发生与植被破坏有着密切的关系。 | The occurrence of sandstorms is closely related to the destruction of vegetation.
环境保护需要政府、企业和公众共同参与。 | Environmental protection requires the participation of the government, businesses and the public.
"""),
    ("life", "生活", "daily life", """
周末的早上，我喜欢去菜市场买一些新鲜的蔬菜。 | On weekend mornings, I like to go to the market to buy some fresh vegetables.
搬家之前，要提前把不需要的东西整理出来。 | Before moving house, sort out the things you no longer need.
邻居{person}家的小狗每天傍晚都会在楼下等主人回来。 | Every evening, my neighbor {person}'s little dog waits downstairs for its owner to come home.
养成记账的习惯，可以清楚地知道钱花在了哪里。 | Getting into the habit of keeping accounts lets you see clearly where your money goes.
阳台上种几盆绿植，整个房间都显得有生气了。 | With a few pots of plants on the balcony, the whole room feels more alive.
下雨天在家里看一本好书，是一种难得的享受。 | Reading a good book at home on a rainy day is a rare pleasure.
这个小区有{num}个出入口，晚上只开放一个。 | This residential compound has {num} entrances, but only one is open at night.
很多上班族每天通勤的时间超过一个小时。 | Many office workers spend more than an hour commuting every day.
快递柜的出现让取包裹变得方便多了。 | Parcel lockers have made picking up packages much more convenient.
周末和朋友一起爬山，既锻炼了身体，又放松了心情。 | Hiking with friends on weekends is good exercise and relaxing at the same time.
老人们常说，“早睡早起身体好”。 | Old people often say, "Early to bed and early to rise keeps you healthy."
冬天来临之前，记得检查家里的暖气是否正常。 | Before winter arrives, remember to check whether the heating at home works properly.
我们在{city}租了一套两居室，每月房租{big}0元。 | We rented a two-bedroom apartment in {city} for {big}0 yuan a month.
二手交易平台让很多闲置物品找到了新主人。 | Second-hand trading platforms have helped many unused items find new owners.
孩子放暑假了，家长们开始为安排孩子的假期发愁。 | With the children on summer holiday, parents have started worrying about how to arrange their vacations.
整理衣柜的时候，我发现了很多一年都没穿过的衣服。 | While tidying the wardrobe, I found many clothes I hadn't worn for a whole year.
晚饭后全家人一起散步，是我们家多年的习惯。 | Taking a walk together after dinner has been our family's habit for many years.
社区组织了一场跳蚤市场，居民们把旧物拿出来交换。 | The community organized a flea market, and residents brought out old items to swap.
手机里的照片太多，最好定期导出到电脑上保存。 | If your phone has too many photos, it is best to export them to your computer regularly.
第一次养猫的人需要了解猫咪的饮食和作息。 | First-time cat owners need to learn about a cat's diet and routine.
超市{month}份推出了会员日活动，很多商品打折销售。 | In {month}, the supermarket launched a members' day promotion with discounts on many goods.
厨房的油烟机最好每三个月清洗一次。 | The kitchen range hood is best cleaned every three months.
下班回家的路上，我顺便去面包店买了明天的早餐。 | On my way home from work, I stopped by the bakery to buy tomorrow's breakfast.
智能门锁越来越普及，出门再也不用担心忘带钥匙。 | Smart door locks are becoming more common, so you no longer have to worry about forgetting your keys.
家里的老人不太会用手机，我常常要教他们怎么视频通话。 | The elderly people in my family are not very good with phones, so I often teach them how to make video calls.
楼下新开了一家咖啡馆，环境安静，适合看书。 | A new café has opened downstairs; it is quiet and good for reading.
每年春天，我们都会把冬天的被子拿出来晒一晒。 | Every spring, we take out the winter quilts and air them in the sun.
生活中的小确幸，往往就藏在这些平凡的日常里。 | Small joys in life are often hidden in these ordinary days.
"""),
]


def _parse(raw):
    pairs = []
    for line in raw.strip().splitlines():
        zh, en = line.split(" | ")
        pairs.append((zh.strip(), en.strip()))
    return pairs


# [(key, zh_name, en_name, [(zh, en), ...]), ...]
TOPICS = [(k, zn, en, _parse(raw)) for k, zn, en, raw in TOPICS_RAW]

# Slot values, (zh, en).
CITIES = [
    ("杭州", "Hangzhou"), ("成都", "Chengdu"), ("西安", "Xi'an"), ("南京", "Nanjing"),
    ("武汉", "Wuhan"), ("厦门", "Xiamen"), ("青岛", "Qingdao"), ("昆明", "Kunming"),
    ("长沙", "Changsha"), ("苏州", "Suzhou"), ("重庆", "Chongqing"), ("天津", "Tianjin"),
    ("大连", "Dalian"), ("哈尔滨", "Harbin"), ("桂林", "Guilin"), ("洛阳", "Luoyang"),
    ("贵阳", "Guiyang"), ("兰州", "Lanzhou"), ("福州", "Fuzhou"), ("合肥", "Hefei"),
    ("济南", "Jinan"), ("郑州", "Zhengzhou"), ("南宁", "Nanning"), ("宁波", "Ningbo"),
]
PERSONS = [
    ("张伟", "Zhang Wei"), ("王芳", "Wang Fang"), ("李娜", "Li Na"), ("刘洋", "Liu Yang"),
    ("陈静", "Chen Jing"), ("杨磊", "Yang Lei"), ("赵敏", "Zhao Min"), ("黄强", "Huang Qiang"),
    ("周婷", "Zhou Ting"), ("吴军", "Wu Jun"), ("徐丽", "Xu Li"), ("孙浩", "Sun Hao"),
    ("马超", "Ma Chao"), ("朱琳", "Zhu Lin"), ("胡斌", "Hu Bin"), ("郭晓", "Guo Xiao"),
    ("何平", "He Ping"), ("林涛", "Lin Tao"), ("高远", "Gao Yuan"), ("罗佳", "Luo Jia"),
]
DISHES = [
    ("红烧肉", "braised pork belly"), ("麻婆豆腐", "mapo tofu"), ("宫保鸡丁", "kung pao chicken"),
    ("西红柿炒鸡蛋", "tomato and egg stir-fry"), ("酸菜鱼", "fish with pickled cabbage"),
    ("回锅肉", "twice-cooked pork"), ("糖醋排骨", "sweet and sour ribs"), ("清蒸鲈鱼", "steamed sea bass"),
    ("葱油饼", "scallion pancakes"), ("小笼包", "soup dumplings"), ("牛肉面", "beef noodle soup"),
    ("鱼香肉丝", "fish-flavored shredded pork"),
]
SPORTS = [
    ("篮球", "basketball"), ("足球", "football"), ("羽毛球", "badminton"), ("乒乓球", "table tennis"),
    ("游泳", "swimming"), ("网球", "tennis"), ("排球", "volleyball"), ("跑步", "running"),
]
SUBJECTS = [
    ("数学", "mathematics"), ("物理", "physics"), ("化学", "chemistry"), ("历史", "history"),
    ("地理", "geography"), ("英语", "English"), ("生物", "biology"), ("语文", "Chinese"),
]
MONTHS = [(f"{i}月", m) for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August",
     "September", "October", "November", "December"], start=1)]
