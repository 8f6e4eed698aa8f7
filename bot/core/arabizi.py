"""Arabic written in Latin letters (Arabizi): "ana baddi ashtghel", "3ayez a3raf", "kifak".

lingua knows no Arabizi and sends it to Swedish or Somali, so the bot answered Arabic speakers
in the wrong language (issue 28). This is a small, explicit scorer instead of a model, so that
every decision can be read off the lists below:

- strong signals (2 points): function words and verbs that only Arabic uses, across Levantine,
  Egyptian, Gulf, Iraqi, Maghrebi and MSA spellings, and a digit standing for a letter inside a
  word (3 = ع, 7 = ح, 2 = ء/ق, 5 = خ, 9 = ص/ق, 6 = ط, 8 = ق: "a3raf", "7abibi", "la2");
- weak signals (1 point): words others borrow too ("inshallah", "wallah", "yalla", "habibi" are
  Swedish youth slang and Somali and Persian speakers' words as well; "mumkin", "tamam");
- words of the other Latin-script languages (Swedish, English, Somali, Tigrinya function words)
  that show which language frames the message, and Persian-in-Latin (Finglish) words, after
  which Arabic is not claimed at all: Arabic and Persian share too much vocabulary to tell them
  apart by a weak signal or two.

Words shared with Somali ("ma", "la", "wa", "hal", "inta", "badi", "naam", "leh"), Swedish ("min",
"inte", "ana", "bas", "halla") or English ("law", "wash", "mesh") are in no list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


def _words(block: str) -> frozenset[str]:
    """A word list written as lines of words (easier to read and extend than a literal)."""
    return frozenset(block.split())


STRONG_WORDS = _words("""
enta enti ente entu ehna e7na i7na ne7na na7na nahna nahnu howa huwa hiya heya homma humma
shu eish shnu shinu shino chnu chno chnou shlon shlonak shlonik shlonich shlonkum chlonak
kifak kifik kifek kifkon kifkun keefak keefik keefek keifak kaifak kefak kefik kif keef kaif
kaifa kayfa kifash izzay ezzay ezay izay ezayak ezzayak izzayak ezayek izayik
leish lesh laish laysh leesh limatha limaza wein wain feen fein fain ween ayna emta imta
addesh adesh adeesh addeesh bikam kadeish gadesh shgad ashgad meen
mish msh mush mafi mafish mafeesh mafesh mafeeh mabaraf mabarif mabaref mabaaref mnaaref
baddi biddi bidi beddi bedi baddak biddak badna bidna baddna biddna baddo biddo badha
ayez ayza awez awza abgha abga abghi ubghi yabi tabi bghit bghyt bgheet
urid ureed oreed areed ariid uridu ureedo nefsi nifsi
adar agdar agder aqdar bagdar tegdar tigdar taqdar
ashtghel ashtaghel eshtghel ashtghil ashtghil eshtaghal ashtaghal ishtghil ashtighil
bashtghel bashtaghel beshtghel nkhdem nekhdem khdma khedma
aref ba3ref arooh aroo7 barou7 aro7 raye7 rayeh rayha rayi7 ashoof ashuf ashof shoof shouf
ahki bahki bitkalam batkallam atkallam bitkallam atkalam btehki tehki titkalam tetkalem
saedni saidni msaade musaada mosaada mosaade msaada musa3da
badawwer bdawer bdawwar adawer adawwar dawwer adowar abhath
shughl shoghl shugl shogl shoghol shughul shughel shighl sheghel shaghle shaghla shagle
wazifa wazeefa wazife wazeefe wathifa wadhifa wazayef
lugha logha dirasa dirase derasa drasa tarjama targama mawed mawid ahjez ahjiz ahjoz bahjez
ya3ni yaeni kteer ktir ktiir kteeer ktiiir kter kthir katheer awi awy gawi jiddan jedan jidan
wayed wayid waajid wayyid hwaya kulish kullish shway shwaya shwaye shwai shwayya shwayyeh
hessa hassa alheen alhin delwa2ti dilwa2ti delwaati dlwa2ty dlw2ty elheen halla2 hala2
ba3den badein baaden bukra bokra bukrah bkra baacher bacher ghadan ennaharda elnaharda lyoum
elyoum alyoum alyom elyom ashan ashaan alashan 3alashan la2anno li2anno lanno le2anno
mitl mitel metl misl zayy zay keda kida kaza kidda heik heek hek hayk haik hakaza
haida hayda haydi haidi hadhi hathi hazi hadol hadool hadak hadik hadeek hadaak
tayeb tayyeb tayib tayyib mashi mashy maashi mnee7 mni7 mnih mneeh kwayes kwayyes kways
helw 7elw hilu 7ilu zein bikheir bkhair bikhair bkher kaman kamaan bardo bardu lessa lesa
akeed akid tab3an maalesh maalish maleesh shukran shokran shukraan shokrn choukran chokran
afwan ahlan ahleen aywa aiwa aiwah eywa bzaf bzzaf mzyan mezyan labas wach dyal diali
mafhoum mafhum mabsout mabsoot taaban zaalan andak andik ma3ak ma3ik ma3i
sho bdi bde bdy bady baddy biddy bidy awiz ayz ashtaghil shtghel shteghel eshteghel
ishtighil ashteghel eshtghil bashte8el dawam dawaam eza iza izza lamma lama2 aymta aimta
samaht smaht fadlak fadlik fadlek arjook arjouk adrus adros badrus badros edrus
swedi swidi sweedi swediya swidiya swedeya swediye mafhemt fhemt fahemt fahmet bafham befham
mnel lel lal 3al bidak baddak bidik baddik bedak fiye fiyi feeni fini btaaref bta3ref
ta3ref ta3raf bte3ref wa2t wa2et mawa3id mawaid shou hena hnak hunak hnaak bdor bdour badour
tfaddal tfadal itfadal sahla sahlan zain shkran shokraan ma3a salama mabdi mabaddi mabadi
mabiddi maktab wen
""")

WEAK_WORDS = _words("""
ana inshallah inshalla insha2allah inshaallah inchallah inshalah nshallah allah
wallah wallahi walla wallahy yalla yallah yala habibi habibti habibe akhi ukhti okhti
mumkin momken mumken momkin mumkn mmkn momkn tamam tmam khalas yani yaani ahla marhaba
marhaban alhamdulillah alhamdulilah hamdulillah hamdillah hamdullah mabrook mabrouk
wesh aish fi fih fiha feh andi arabi madrasa lazem lazim lezem
el il lakin laken lakn walakin ma3 m3 bel fe feeh kam ani abi mesh eh eih eeh wala mn sabah
kheir khair insan
""")

# Function words of the Latin-script languages the bot also speaks (Swedish also typed without
# å, ä, ö), and Tigrinya in Latin letters: they show which language frames a message that
# borrows an Arabic word or two ("wallah jag vill ha jobb" is Swedish).
OTHER_WORDS = _words("""
jag vill och är ar det att på för for med som inte har kan hur vad var vart när nar mitt
mina ett till du ni vi dem den ska skulle få mig dig sig också bara nu här där dar
eller men från fran hos behöver behover finns gå ga göra gora kommer tack snälla snalla
i want the a to is are am how what where when can could my you your of on with and do
does need get have has this that it me please there about which will would be at from not yes
thanks thank
waxaan waxa waxay waa iyo ayaa ayuu baan doonayaa rabaa rabo maxaa maxaan sidee xagee halkee
shaqo fadlan mahadsanid haa maya walaal aniga kuu ii iga igu aad aan hadda saaxiib sxb caawin
caawimo caawimaad karaa kartaa sheeg jiraa yahay tahay ahay maanta berri goorma meeshee luqad
luqadda carabi dugsi iskuul waqti ballan inaan sidaan ku ka soo oo uu ay si u yaa miyaa baa
baad waan wax kale badan jirtaa jira helo helaa heli barto baran qof sida kaalay haddii hadii
marka markaan laga lagu loo weeye leeyahay leedahay dhig galo bilaash lacag jooga
selam kemey aleka aleki alekum dehan ane nay entay sira kab abzi yekenyeley iye eyu ezi eti
nab mis hagez kulu kemzi ifelli yeblen iyu iyen iya ab ygebra kitgebr tkhil
""")

# Persian in Latin letters (Finglish): when any of these is there, Arabic is not claimed.
FINGLISH_WORDS = _words("""
mikham mikhaam mikhām mikhay mikhad mikhaim mikhain mikhan mikhastam khastam mikonam mikonid
mikoni konam konid kardam kardan mitunam mitoonam mitavanam mitoonid mitunid mitunin midunam
midoonam midunid midunin midam midid mirim miram mire mishe mishavad nemidunam nemidoonam
nemikham nemitunam nemishe daram dari darid darin nadaram hast hastam hasti hastid hastin
hastesh nist nistam nisti chetori chetorin chetorid chetor chejuri chera chiye koja kojast
khoobi khubi khobi khoob khub kheili kheyli khyli khaili mersi mamnun mamnoon mamnunam
mamnoonam motshakeram lotfan befarmaid bebakhshid bebakhshin shoma baraye hamchenin inja
unja oonja vaghti cheghadr cheqadr chizi khodahafez khodafez azizam joon doroud dorood peyda
donbale migardam begiram bekonam beram bedunam
""")
# Persian present tense ("mi-" and a stem: "migardam", "mikonim", "nemidoonam").
FINGLISH_VERB = re.compile(r"(?:ne)?mi(?:kh|kon|tun|toon|tav|dun|doon|gard|gir|ger|shav|zan|bin"
                           r"|bar|fahm|res|khor|num|nevis|pors|dah)[a-z]*")
# "merci" is Persian and Lebanese alike: it keeps Arabic from being claimed on a weak case only.
SHARED_THANKS = frozenset({"merci"})

DIGITS = frozenset("2356789")
# School courses and levels ("ma2c", "sva3", "eng5") and English text speak ("gr8", "sk8er").
COURSE = re.compile(r"(?:ma|sv|sva|sas|eng|en|fy|ke|bi|hi|sh|re|gy|sfi|nk|tk|bf|ek)\d[a-c]?")
NOT_ARABIZI = frozenset({"sk8er", "sk8ers", "l8er", "w8ing", "w3schools", "c3po", "h2o", "me2",
                         "2am", "5am", "6am", "7am", "8am", "9am", "2pm", "3pm", "5pm",
                         "6pm", "7pm", "8pm", "9pm", "2day", "2nite", "2night", "2morrow",
                         "2moro", "2morow", "2gether", "2go", "2do", "2me", "2you"})
# Times, ordinals and units after a number ("5pm", "3rd", "5min", "3rok", "2ar").
UNIT = re.compile(r"\d(?:st|nd|rd|th|pm|h|hr|hrs|min|mins|kr|sek|km|kg|mb|gb|tim|dag|dagar|"
                  r"ar|rok|rum|ans|er|or|ish|x|ta|da|aad|naad)")
# Article, conjunctions and prepositions written together with a word, and possessive endings.
PREFIXES = ("el", "il", "al", "l", "w", "wa", "b", "bi", "fa", "fel", "bel", "lel", "3al")
SUFFIXES = ("i", "y", "ak", "ek", "ik", "na", "kom", "kon", "hom", "ha", "o", "u", "ni", "e", "a")
TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
SHORT = 5  # a message of at most this many words may be decided by one strong signal
THRESHOLD = 3  # points otherwise (a strong and a weak signal, or two strong ones)


@dataclass(frozen=True)
class Signals:
    """What the scorer saw in one message (also what a test or a log can explain)."""

    strong: int
    weak: int
    other: int
    finglish: int
    thanks: int
    words: int

    @property
    def points(self) -> int:
        return 2 * self.strong + self.weak

    @property
    def arabic(self) -> bool:
        """Arabic when the Arabic signals outweigh the other languages' function words."""
        if self.finglish or (self.thanks and self.strong < 2):
            return False
        if self.strong and self.words <= SHORT and not self.other:
            return True  # "kifak", "shu akhbarak": no other language's word in a short message
        if self.strong and self.points >= THRESHOLD and 2 * self.strong >= self.other:
            return True  # "jag vill boka tid på jobbtorg, ana mafi shughl"
        return self.weak >= THRESHOLD and not self.other  # "yalla inshallah habibi"


def digit_points(token: str) -> int:
    """2 for a digit inside a word or leading one ("a3raf", "3ayez", "3ndi"), 1 after a word
    ("la2"), 0 for what is no Arabizi ("2day", "gr8", "5min", "ma2c", "covid19", "b2")."""
    word = token.replace("'", "").replace("’", "")
    if word in NOT_ARABIZI or COURSE.fullmatch(word) or not re.fullmatch(r"[a-z0-9]+", word):
        return 0
    digits = {c for c in word if c.isdigit()}
    if not digits or digits - DIGITS or re.search(r"\d\d", word):
        return 0
    if sum(c.isalpha() for c in word) < 2 or not re.search(r"[aeiouy]", word):
        return 0
    if UNIT.fullmatch(word):
        return 0
    if re.search(r"[a-z]\d[a-z]", word) or re.match(r"\d[a-z]", word):
        return 2
    return 1 if re.fullmatch(r"[a-z]+\d", word) else 0


def _strong(token: str) -> bool:
    """A strong word, also with a clitic: "elshoghl", "wbaddi", "shoghli", "wazifetna"."""
    if token in STRONG_WORDS:
        return True
    stems = {token[len(p):] for p in PREFIXES if token.startswith(p)} | {token}
    stems |= {s[:-len(x)] for s in set(stems) for x in SUFFIXES if s.endswith(x)}
    return any(len(s) >= 4 and s in STRONG_WORDS for s in stems)


def signals(text: str, ignore: Iterable[str] = ()) -> Signals:
    """Count the signals in `text`, leaving out `ignore` (names every language shares)."""
    skip = frozenset(ignore)
    tokens = [t for t in TOKEN.findall(text.lower()) if t not in skip and not t.isdigit()]
    strong = weak = other = finglish = thanks = 0
    for token in tokens:
        if token in FINGLISH_WORDS or FINGLISH_VERB.fullmatch(token):
            finglish += 1
        elif token in SHARED_THANKS:
            thanks += 1
        elif token in STRONG_WORDS:
            strong += 1
        elif token in WEAK_WORDS:
            weak += 1
        elif token in OTHER_WORDS:
            other += 1
        elif _strong(token):
            strong += 1
        else:
            points = digit_points(token)
            strong += points == 2
            weak += points == 1
    return Signals(strong, weak, other, finglish, thanks, len(tokens))


def is_arabizi(text: str, ignore: Iterable[str] = ()) -> bool:
    """Whether `text` is Arabic written in Latin letters."""
    return signals(text, ignore).arabic
