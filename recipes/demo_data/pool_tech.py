# ruff: noqa: E501
"""Hand-written technical snippets: Chinese or English explanations around code blocks,
shell commands and man-page style option lists. Used for the mixed zh/en technical
documents in zh_web (must be kept) and the English technical documents in en_web.

Each unit: dict(zh=..., en=...), both full text of one section (explanation + block).
"""

_FENCE = "```"


def _unit(zh_intro, en_intro, block_zh, block_en=None, zh_outro="", en_outro="", lang="bash", plain=False):
    block_en = block_zh if block_en is None else block_en

    def fmt(block):
        block = block.strip("\n")
        return block if plain else f"{_FENCE}{lang}\n{block}\n{_FENCE}"

    zh = zh_intro + "\n" + fmt(block_zh) + ("\n" + zh_outro if zh_outro else "")
    en = en_intro + "\n" + fmt(block_en) + ("\n" + en_outro if en_outro else "")
    return {"zh": zh, "en": en}


TECH_UNITS = [
    _unit(
        "在 Linux 中复制整个目录时，需要加上 -r 参数。cp 命令的常用选项如下：",
        "To copy a whole directory on Linux you need the -r flag. The most common options of cp are:",
        """
-r, --recursive      递归复制目录及其内容
-i, --interactive    覆盖已有文件前提示确认
-v, --verbose        显示正在复制的文件名
-p                   保留文件的权限和修改时间
""",
        """
-r, --recursive      copy directories recursively
-i, --interactive    prompt before overwriting existing files
-v, --verbose        print the name of each file being copied
-p                   preserve permissions and modification times
""",
        "例如，下面的命令会把项目目录完整地复制到备份盘：\n```bash\ncp -rv ~/project /mnt/backup/\n```",
        "For example, the following command copies the project directory to a backup disk:\n```bash\ncp -rv ~/project /mnt/backup/\n```",
        plain=True,
    ),
    _unit(
        "使用 Git 时，建议每个新功能都在单独的分支上开发。创建分支、提交并推送的完整流程是：",
        "When using Git, it is a good idea to develop each new feature on its own branch. The full flow of creating a branch, committing and pushing is:",
        """
git checkout -b feature/login
git add .
git commit -m "add login page"
git push origin feature/login
""",
        zh_outro="推送之后，就可以在代码托管平台上发起合并请求（pull request），请同事进行代码审查。",
        en_outro="After pushing, you can open a pull request on the hosting platform and ask a colleague to review the code.",
    ),
    _unit(
        "Python 的列表推导式可以让代码更加简洁。比如要得到 1 到 10 的平方，可以这样写：",
        "List comprehensions make Python code more concise. For example, to get the squares of 1 to 10 you can write:",
        """
squares = [x * x for x in range(1, 11)]
evens = [x for x in squares if x % 2 == 0]
print(evens)  # [4, 16, 36, 64, 100]
""",
        zh_outro="需要注意的是，如果逻辑太复杂，还是写成普通的 for 循环更容易阅读。",
        en_outro="Note that if the logic gets complicated, a plain for loop is easier to read.",
        lang="python",
    ),
    _unit(
        "为了避免不同项目之间的依赖冲突，最好为每个项目创建独立的虚拟环境：",
        "To avoid dependency conflicts between projects, create a separate virtual environment for each one:",
        """
python -m venv .venv
source .venv/bin/activate
pip install -r requirements.txt
""",
        zh_outro="在 Windows 上，激活命令是 .venv\\Scripts\\activate，退出虚拟环境则使用 deactivate。",
        en_outro="On Windows the activation command is .venv\\Scripts\\activate, and deactivate leaves the environment.",
    ),
    _unit(
        "Docker 可以把应用和它的运行环境一起打包。下面是一个最简单的 Dockerfile：",
        "Docker packages an application together with its runtime environment. Here is a minimal Dockerfile:",
        """
FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -r requirements.txt
CMD ["python", "app.py"]
""",
        zh_outro="构建镜像使用 docker build -t myapp . 命令，运行容器使用 docker run -p 8000:8000 myapp。",
        en_outro="Build the image with docker build -t myapp . and start a container with docker run -p 8000:8000 myapp.",
        lang="dockerfile",
    ),
    _unit(
        "find 命令可以按名称、大小或修改时间查找文件。例如，查找当前目录下 7 天内修改过的日志文件：",
        "The find command searches for files by name, size or modification time. For example, to list log files in the current directory changed within the last 7 days:",
        """
find . -name "*.log" -mtime -7
find /var/log -size +100M -exec ls -lh {} \\;
""",
        zh_outro="第二条命令会列出 /var/log 下所有超过 100MB 的文件。",
        en_outro="The second command lists every file under /var/log that is larger than 100 MB.",
    ),
    _unit(
        "grep 是在文本中搜索字符串的利器，常用参数包括：",
        "grep is the tool of choice for searching text. Its most useful options are:",
        """
-i, --ignore-case      忽略大小写
-n, --line-number      输出匹配行的行号
-r, --recursive        递归搜索目录
-v, --invert-match     只显示不匹配的行
-c, --count            只输出匹配的行数
""",
        """
-i, --ignore-case      ignore case distinctions
-n, --line-number      prefix each match with its line number
-r, --recursive        search directories recursively
-v, --invert-match     select non-matching lines
-c, --count            print only a count of matching lines
""",
        "组合使用时可以写成 grep -rn \"TODO\" src/，快速找出源码里所有的待办事项。",
        "Combined, grep -rn \"TODO\" src/ quickly finds every to-do note in the source tree.",
        plain=True,
    ),
    _unit(
        "下面的 SQL 语句统计每个城市的订单数量，并按数量从高到低排序：",
        "The following SQL query counts orders per city and sorts the cities by that count:",
        """
SELECT city, COUNT(*) AS order_count
FROM orders
WHERE created_at >= '2023-01-01'
GROUP BY city
ORDER BY order_count DESC
LIMIT 10;
""",
        zh_outro="如果 orders 表的数据量很大，记得在 created_at 字段上建立索引。",
        en_outro="If the orders table is large, remember to add an index on the created_at column.",
        lang="sql",
    ),
    _unit(
        "用 Python 的 requests 库调用 HTTP 接口非常方便，只需要几行代码：",
        "Calling an HTTP API with the Python requests library takes only a few lines:",
        """
import requests

resp = requests.get("https://api.example.com/items", params={"page": 1}, timeout=10)
resp.raise_for_status()
for item in resp.json()["items"]:
    print(item["id"], item["name"])
""",
        zh_outro="一定要设置 timeout 参数，否则网络异常时程序可能会一直卡住。",
        en_outro="Always set the timeout argument, otherwise the program may hang forever when the network misbehaves.",
        lang="python",
    ),
    _unit(
        "tar 命令用于打包和解压文件，最常用的几个选项是：",
        "The tar command creates and extracts archives. The options you will use most are:",
        """
-c, --create       创建新的归档文件
-x, --extract      从归档中解压文件
-z, --gzip         通过 gzip 压缩或解压
-f, --file         指定归档文件名
-C, --directory    解压到指定目录
""",
        """
-c, --create       create a new archive
-x, --extract      extract files from an archive
-z, --gzip         filter the archive through gzip
-f, --file         use the given archive file
-C, --directory    change to a directory before extracting
""",
        "打包和解压的完整示例：\n```bash\ntar -czf backup.tar.gz docs/\ntar -xzf backup.tar.gz -C /tmp/restore\n```",
        "A complete example of packing and unpacking:\n```bash\ntar -czf backup.tar.gz docs/\ntar -xzf backup.tar.gz -C /tmp/restore\n```",
        plain=True,
    ),
    _unit(
        "在 JavaScript 中，使用 async/await 可以让异步代码读起来像同步代码：",
        "In JavaScript, async/await makes asynchronous code read like synchronous code:",
        """
async function loadUser(id) {
  const res = await fetch(`/api/users/${id}`);
  if (!res.ok) {
    throw new Error(`HTTP ${res.status}`);
  }
  return await res.json();
}
""",
        zh_outro="调用 loadUser 时别忘了用 try...catch 处理可能出现的错误。",
        en_outro="Don't forget to wrap calls to loadUser in try...catch to handle errors.",
        lang="javascript",
    ),
    _unit(
        "Linux 文件权限分为读（r）、写（w）和执行（x）三种。给脚本添加执行权限并修改配置文件权限：",
        "Linux file permissions come in three kinds: read (r), write (w) and execute (x). To make a script executable and fix the mode of a config file:",
        """
chmod +x deploy.sh
chmod 644 config.yaml
ls -l deploy.sh config.yaml
""",
        zh_outro="其中 644 表示文件所有者可以读写，其他用户只能读取。",
        en_outro="Here 644 means the owner can read and write, while everyone else can only read.",
    ),
    _unit(
        "NumPy 的数组运算是向量化的，比用 Python 循环快得多：",
        "NumPy array operations are vectorized and much faster than Python loops:",
        """
import numpy as np

a = np.arange(12).reshape(3, 4)
print(a.mean(axis=0))   # 每一列的平均值
print(a[a > 5])         # 取出所有大于 5 的元素
""",
        """
import numpy as np

a = np.arange(12).reshape(3, 4)
print(a.mean(axis=0))   # mean of each column
print(a[a > 5])         # all elements greater than 5
""",
        "布尔索引 a[a > 5] 是 NumPy 中非常常用的写法。",
        "Boolean indexing such as a[a > 5] is one of the most common NumPy idioms.",
        lang="python",
    ),
    _unit(
        "curl 是命令行下测试接口的常用工具，常见参数有：",
        "curl is the usual command-line tool for testing an API. Common flags are:",
        """
-X, --request    指定请求方法，例如 POST
-H, --header     添加请求头
-d, --data       发送请求体数据
-o, --output     把响应写入文件
-s, --silent     静默模式，不显示进度
""",
        """
-X, --request    specify the request method, e.g. POST
-H, --header     add a request header
-d, --data       send data in the request body
-o, --output     write the response to a file
-s, --silent     silent mode, no progress meter
""",
        "发送一个 JSON 请求的例子：\n```bash\ncurl -s -X POST -H \"Content-Type: application/json\" -d '{\"name\": \"test\"}' https://api.example.com/items\n```",
        "An example that sends a JSON body:\n```bash\ncurl -s -X POST -H \"Content-Type: application/json\" -d '{\"name\": \"test\"}' https://api.example.com/items\n```",
        plain=True,
    ),
    _unit(
        "使用 SSH 密钥登录服务器比密码更安全。生成密钥并复制到服务器的步骤如下：",
        "Logging in to a server with an SSH key is safer than using a password. To create a key and copy it to the server:",
        """
ssh-keygen -t ed25519 -C "you@example.com"
ssh-copy-id user@192.168.1.20
ssh user@192.168.1.20
""",
        zh_outro="配置完成后，建议在 /etc/ssh/sshd_config 中把 PasswordAuthentication 设置为 no，关闭密码登录。",
        en_outro="Once this works, set PasswordAuthentication to no in /etc/ssh/sshd_config to disable password logins.",
    ),
    _unit(
        "正则表达式可以用来校验输入格式。下面的 Python 代码检查一个字符串是不是 YYYY-MM-DD 格式的日期：",
        "Regular expressions are handy for validating input. This Python snippet checks whether a string is a date in YYYY-MM-DD format:",
        """
import re

DATE_RE = re.compile(r"^\\d{4}-\\d{2}-\\d{2}$")
print(bool(DATE_RE.match("2024-03-15")))  # True
print(bool(DATE_RE.match("2024/03/15")))  # False
""",
        zh_outro="注意这个表达式只检查格式，不会判断 2024-13-45 这样的日期是否真实存在。",
        en_outro="Note that the pattern only checks the format; it will happily accept an impossible date like 2024-13-45.",
        lang="python",
    ),
    _unit(
        "用 pandas 读取 CSV 文件并按列分组求和：",
        "Reading a CSV file with pandas and summing a column per group:",
        """
import pandas as pd

df = pd.read_csv("sales.csv")
summary = df.groupby("region")["amount"].sum().sort_values(ascending=False)
print(summary.head())
""",
        zh_outro="如果文件里有中文，读取时可以指定 encoding=\"utf-8\"，避免出现乱码。",
        en_outro="If the file contains non-ASCII text, pass encoding=\"utf-8\" when reading it.",
        lang="python",
    ),
    _unit(
        "在使用 systemd 的系统上，可以用 systemctl 管理后台服务：",
        "On systems that use systemd, background services are managed with systemctl:",
        """
sudo systemctl start nginx
sudo systemctl enable nginx
systemctl status nginx
journalctl -u nginx --since "1 hour ago"
""",
        zh_outro="enable 表示开机自动启动，journalctl 用于查看服务最近的日志。",
        en_outro="enable makes the service start at boot, and journalctl shows its recent logs.",
    ),
    _unit(
        "rsync 适合在两台机器之间同步大量文件，它只传输发生变化的部分。常用选项：",
        "rsync is well suited to syncing many files between two machines because it only transfers what has changed. Useful options:",
        """
-a, --archive     归档模式，保留权限、时间等属性
-z, --compress    传输时压缩数据
-P                显示进度并支持断点续传
--delete          删除目标端多余的文件
-n, --dry-run     只显示将要执行的操作，不真正传输
""",
        """
-a, --archive     archive mode, keeps permissions, times and more
-z, --compress    compress data during the transfer
-P                show progress and keep partial files
--delete          delete extraneous files on the receiving side
-n, --dry-run     show what would be done without transferring
""",
        "第一次执行时建议先加上 -n 看看结果：\n```bash\nrsync -azPn --delete ./site/ web01:/var/www/site/\n```",
        "On the first run, add -n to preview the result:\n```bash\nrsync -azPn --delete ./site/ web01:/var/www/site/\n```",
        plain=True,
    ),
    _unit(
        "Go 语言使用 goroutine 实现并发，启动一个 goroutine 只需要在函数调用前加上 go 关键字，再用 sync.WaitGroup 等待它们结束：",
        "Go uses goroutines for concurrency: put the go keyword in front of a function call to start one, and use sync.WaitGroup to wait for them to finish:",
        """
package main

import (
    "fmt"
    "sync"
)

func main() {
    var wg sync.WaitGroup
    for i := 1; i <= 3; i++ {
        wg.Add(1)
        go func(n int) {
            defer wg.Done()
            fmt.Println("worker", n)
        }(i)
    }
    wg.Wait()
}
""",
        lang="go",
    ),
    _unit(
        "在 PyTorch 中，torch.nn.functional.cross_entropy 接收的是未经 softmax 的 logits，而不是概率。常见的训练步骤写法是：",
        "In PyTorch, torch.nn.functional.cross_entropy expects raw logits, not probabilities. A typical training step looks like this:",
        """
import torch.nn.functional as F

logits = model(input_ids)              # shape: [batch, num_classes]
loss = F.cross_entropy(logits, labels)
loss.backward()
optimizer.step()
optimizer.zero_grad()
""",
        zh_outro="如果在调用 cross_entropy 之前又手动做了一次 softmax，损失的数值会不正常，模型也很难收敛。",
        en_outro="If you apply softmax yourself before calling cross_entropy, the loss values will be wrong and the model will struggle to converge.",
        lang="python",
    ),
    _unit(
        "ls 是最常用的命令之一，下面几个选项非常实用：",
        "ls is one of the most frequently used commands. These options are worth knowing:",
        """
-l                      使用长格式显示详细信息
-a, --all               显示以 . 开头的隐藏文件
-h, --human-readable    以 K、M、G 为单位显示文件大小
-t                      按修改时间排序
-R, --recursive         递归列出子目录
""",
        """
-l                      use a long listing format
-a, --all               do not ignore entries starting with .
-h, --human-readable    print sizes like 1K 234M 2G
-t                      sort by modification time, newest first
-R, --recursive         list subdirectories recursively
""",
        "最常见的组合是 ls -lah，可以一次看到所有文件的大小和权限。",
        "The most common combination is ls -lah, which shows the size and permissions of every file at once.",
        plain=True,
    ),
    _unit(
        "Python 标准库中的 json 模块可以在字典和 JSON 字符串之间转换。保存中文时要设置 ensure_ascii=False，否则中文会被转义成 \\uXXXX：",
        "The json module in the Python standard library converts between dicts and JSON strings. Set ensure_ascii=False to keep non-ASCII characters readable instead of \\uXXXX escapes:",
        """
import json

data = {"name": "张三", "age": 30}
with open("user.json", "w", encoding="utf-8") as f:
    json.dump(data, f, ensure_ascii=False, indent=2)
""",
        """
import json

data = {"name": "Zoë", "age": 30}
with open("user.json", "w", encoding="utf-8") as f:
    json.dump(data, f, ensure_ascii=False, indent=2)
""",
        lang="python",
    ),
    _unit(
        "crontab 用于设置定时任务。每一行包含五个时间字段和要执行的命令：",
        "crontab schedules recurring jobs. Each line has five time fields followed by the command to run:",
        """
# 分 时 日 月 周 命令
30 2 * * * /home/ops/backup.sh >> /var/log/backup.log 2>&1
*/10 * * * * /usr/bin/python3 /opt/jobs/check_disk.py
""",
        """
# m h dom mon dow command
30 2 * * * /home/ops/backup.sh >> /var/log/backup.log 2>&1
*/10 * * * * /usr/bin/python3 /opt/jobs/check_disk.py
""",
        "第一行表示每天凌晨 2 点 30 分执行备份脚本，第二行表示每 10 分钟检查一次磁盘空间。",
        "The first line runs the backup script every day at 2:30 a.m., and the second checks disk space every 10 minutes.",
        lang="text",
    ),
]

TECH_OPENERS_ZH = [
    "最近整理了一些日常开发中经常用到的命令和技巧，记录在这里，方便以后查阅。",
    "很多刚入门的同学问过我类似的问题，这里统一写一篇笔记说明一下。",
    "下面几个小技巧都是我在工作中反复用到的，希望对大家有帮助。",
    "这篇文章介绍几个常见开发工具的基本用法，适合新手阅读。",
    "今天在排查线上问题时又用到了这几个命令，顺手把笔记整理出来。",
    "本文是我的学习笔记，内容比较基础，高手可以直接跳过。",
    "不少人在配置开发环境时会踩坑，下面把关键步骤和注意事项写清楚。",
    "上周帮同事解决了几个小问题，发现这些知识点其实很值得总结一下。",
]
TECH_CLOSERS_ZH = [
    "以上就是本文的全部内容，如果有写得不对的地方，欢迎在评论区指出。",
    "建议大家在自己的电脑上动手试一试，印象会更深刻。",
    "更多参数可以通过 man 命令或者 --help 选项查看。",
    "这些命令看起来简单，但熟练掌握之后可以节省大量时间。",
    "如果你在使用过程中遇到其他问题，可以先查阅官方文档。",
    "希望这篇笔记能帮你少走一些弯路。",
]
TECH_OPENERS_EN = [
    "Here are a few commands and tricks I use almost every day, collected in one place for future reference.",
    "Several people new to the team asked me the same questions, so I wrote this short guide.",
    "These are small tips, but they have saved me a lot of time at work.",
    "This post walks through the basic usage of a few common developer tools. It is aimed at beginners.",
    "I ran into these again while debugging a production issue today, so I cleaned up my notes.",
    "Setting up a development environment is full of small traps. This note covers the steps that matter.",
]
TECH_CLOSERS_EN = [
    "That's all for now. If you spot a mistake, let me know in the comments.",
    "Try these out on your own machine; that is the fastest way to remember them.",
    "For the full list of options, check the man page or run the command with --help.",
    "None of this is complicated, but knowing it well saves a surprising amount of time.",
    "If you run into other problems, the official documentation is the best place to start.",
]

# Code-only blocks (terminal output, configs, tracebacks) appended to some technical
# documents so that they are code-heavy; (lead_zh, lead_en, block).
CODE_EXTRAS = [
    ("执行 ls -lah 之后的输出类似这样：", "The output of ls -lah looks like this:", """```text
total 48K
drwxr-xr-x  5 dev dev 4.0K Mar 12 10:21 .
drwxr-xr-x 18 dev dev 4.0K Mar 10 09:02 ..
-rw-r--r--  1 dev dev  220 Mar 10 09:02 .bashrc
drwxr-xr-x  8 dev dev 4.0K Mar 12 10:20 .git
-rwxr-xr-x  1 dev dev 1.2K Mar 11 17:45 deploy.sh
-rw-r--r--  1 dev dev  512 Mar 11 17:40 config.yaml
drwxr-xr-x  3 dev dev 4.0K Mar 11 16:02 src
```"""),
    ("附上我用的 docker-compose.yml 配置文件：", "For reference, this is my docker-compose.yml:", """```yaml
version: "3.8"
services:
  web:
    build: .
    ports:
      - "8000:8000"
    environment:
      - DATABASE_URL=postgres://app:secret@db:5432/app
    depends_on:
      - db
  db:
    image: postgres:15
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
```"""),
    ("出错时的报错信息如下：", "This is the error I got:", """```text
Traceback (most recent call last):
  File "train.py", line 42, in <module>
    main()
  File "train.py", line 37, in main
    loss = criterion(outputs, labels)
  File "/usr/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1518, in _wrapped_call_impl
    return self._call_impl(*args, **kwargs)
RuntimeError: Expected target size [32, 10], got [32]
```"""),
    ("用 git log 查看提交历史：", "Checking the history with git log:", """```text
commit 3f2a9c1e8b7d4a6f0e5c2b1a9d8e7f6c5b4a3d2e
Author: dev <dev@example.com>
Date:   Tue Mar 12 10:20:31 2024 +0800

    fix: handle empty config file

commit 9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c
Author: dev <dev@example.com>
Date:   Mon Mar 11 17:45:02 2024 +0800

    feat: add deploy script
```"""),
    ("完整的代码如下：", "Here is the full code:", """```python
def chunked(items, size):
    \"\"\"Yield successive chunks of the given size from items.\"\"\"
    for start in range(0, len(items), size):
        yield items[start:start + size]


for batch in chunked(list(range(10)), 4):
    print(batch)
# [0, 1, 2, 3]
# [4, 5, 6, 7]
# [8, 9]
```"""),
    ("可以参考这份 nginx 反向代理配置：", "A minimal nginx reverse-proxy config:", """```nginx
server {
    listen 80;
    server_name example.com;

    location /api/ {
        proxy_pass http://127.0.0.1:8000;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
    }
}
```"""),
    ("安装过程的输出：", "The install output:", """```text
$ pip install requests
Collecting requests
  Downloading requests-2.31.0-py3-none-any.whl (62 kB)
Collecting idna<4,>=2.5
  Downloading idna-3.6-py3-none-any.whl (61 kB)
Installing collected packages: idna, requests
Successfully installed idna-3.6 requests-2.31.0
```"""),
    ("项目里的 Makefile 是这样写的：", "The project's Makefile:", """```makefile
.PHONY: install test lint

install:
\tpip install -e ".[dev]"

test:
\tpytest -q tests/

lint:
\truff check src tests
```"""),
    ("建表语句如下：", "The table definition:", """```sql
CREATE TABLE orders (
    id         BIGSERIAL PRIMARY KEY,
    city       VARCHAR(64) NOT NULL,
    amount     NUMERIC(10, 2) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT now()
);
CREATE INDEX idx_orders_created_at ON orders (created_at);
```"""),
    ("接口返回的数据格式：", "The API responds with:", """```json
{
  "items": [
    {"id": 1, "name": "keyboard", "price": 199.0},
    {"id": 2, "name": "mouse", "price": 89.0}
  ],
  "page": 1,
  "total": 2
}
```"""),
]
