"""Resumes in the parser's 43 languages: section headings, dates and ranges (month names and "present"
words from CLDR), language names as each language writes them, and the language of short texts."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest
import sqlalchemy as sa

from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.parsing.dates import find_ranges
from cerebro_serve.parsing.languages import detect_language, find_spoken_languages
from cerebro_serve.parsing.locales import LANGUAGES, all_month_names, language_names, month_names
from cerebro_serve.parsing.periods import split_entries
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.sections import HEADINGS, LOCALISED_HEADINGS, heading_of
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.record_features import FEATURES_SCHEMA, RecordFeatures
from cerebro_serve.scoring.features import language_bit, skill_hash, term_counts
from cerebro_serve.services.queries import PoolCreate

TODAY = date(2026, 12, 5)

# Resumes as people write them: headings, a current job and a finished education, a languages section.
RESUMES = {
    "pl": """Jan Kowalski
jan.kowalski@example.pl
Doświadczenie zawodowe
Programista Python, Allegro
styczeń 2019 – obecnie
Tworzenie usług w Pythonie i Django dla zespołu płatności.
Wykształcenie
Politechnika Warszawska, inżynier informatyki
październik 2014 – czerwiec 2018
Języki
angielski – C1, niemiecki – B1
""",
    "tr": """Ayşe Yılmaz
İş Deneyimi
Yazılım Mühendisi, Trendyol
Mart 2020 - Günümüz
Mikroservisler geliştirdim ve ekibe liderlik ettim.
Eğitim
Boğaziçi Üniversitesi, Bilgisayar Mühendisliği Lisans
Eylül 2015 - Haziran 2019
Yabancı Diller
İngilizce (ileri), Almanca (başlangıç)
""",
    "ru": """Иван Петров
Опыт работы
Инженер-программист, Яндекс
март 2018 — настоящее время
Разработка серверных сервисов на Go и Python для поиска.
Образование
Московский государственный университет, магистр
сентябрь 2012 — июнь 2017
Знание языков
Английский — свободно, Немецкий — базовый
""",
    "zh": """张伟
工作经历
2019年3月 - 至今 阿里巴巴 高级工程师
负责搜索系统的开发和维护工作。
教育背景
2012年9月 - 2016年6月 清华大学 计算机科学 学士
语言能力
英语（流利），日语（基础）
""",
    "ja": """山田 太郎
職歴
2018年4月～現在　株式会社メルカリ　ソフトウェアエンジニア
決済システムの開発を担当しました。
学歴
2014年4月～2018年3月　東京大学 工学部
語学
英語（ビジネスレベル）、中国語（日常会話）
""",
    "ko": """김민수
경력
2017년 3월 ~ 현재 네이버 백엔드 개발자
검색 서비스의 개발을 담당했습니다.
학력
2011년 3월 ~ 2017년 2월 서울대학교 컴퓨터공학 학사
외국어
영어 (고급), 일본어 (중급)
""",
    "ar": """أحمد علي
الخبرة العملية
مهندس برمجيات، شركة أرامكو
يناير 2018 - حتى الآن
تطوير أنظمة البيانات وتحليلها.
التعليم
جامعة الملك سعود، بكالوريوس علوم الحاسب
سبتمبر 2012 - يونيو 2017
اللغات
العربية (اللغة الأم)، الإنجليزية (ممتاز)
""",
    "hi": """राहुल शर्मा
कार्य अनुभव
सॉफ्टवेयर इंजीनियर, इंफोसिस
जनवरी 2019 - वर्तमान
वेब अनुप्रयोगों का विकास और रखरखाव किया।
शिक्षा
दिल्ली विश्वविद्यालय, बी.टेक
जुलाई 2014 - मई 2018
भाषाएँ
हिन्दी (मातृभाषा), अंग्रेज़ी (धाराप्रवाह)
""",
    "th": """สมชาย ใจดี
ประสบการณ์ทำงาน
วิศวกรซอฟต์แวร์ บริษัท อโกด้า
มกราคม 2020 - ปัจจุบัน
พัฒนาระบบจองโรงแรมสำหรับลูกค้าทั่วโลก
การศึกษา
จุฬาลงกรณ์มหาวิทยาลัย วิศวกรรมคอมพิวเตอร์
สิงหาคม 2015 - พฤษภาคม 2019
ภาษา
อังกฤษ (ดี), ไทย (เจ้าของภาษา)
""",
    "vi": """Nguyễn Văn An
Kinh nghiệm làm việc
Lập trình viên, FPT Software
Tháng 3 2019 - Hiện tại
Phát triển ứng dụng web cho khách hàng Nhật Bản.
Học vấn
Đại học Bách khoa Hà Nội, Kỹ sư
Tháng 9 2013 - Tháng 6 2018
Ngoại ngữ
Tiếng Anh (thành thạo), Tiếng Nhật (cơ bản)
""",
    "el": """Γιώργος Παπαδόπουλος
Επαγγελματική εμπειρία
Μηχανικός λογισμικού, Skroutz
Ιανουάριος 2019 - Σήμερα
Ανάπτυξη υπηρεσιών αναζήτησης προϊόντων.
Εκπαίδευση
Εθνικό Μετσόβιο Πολυτεχνείο
Σεπτέμβριος 2012 - Ιούνιος 2018
Γλώσσες
Αγγλικά (C2), Γαλλικά (B1)
""",
    "sw": """Amina Juma
Uzoefu wa Kazi
Mhasibu, Benki ya CRDB
Januari 2018 - Sasa
Kuandaa taarifa za fedha na kusimamia malipo ya wateja.
Elimu
Chuo Kikuu cha Dar es Salaam
Septemba 2013 - Julai 2017
Lugha
Kiswahili (lugha ya mama), Kiingereza (vizuri)
""",
}
# (experience start, education start, education end, the languages named)
EXPECTED = {
    "pl": (date(2019, 1, 1), date(2014, 10, 1), date(2018, 6, 1), {"en", "de"}),
    "tr": (date(2020, 3, 1), date(2015, 9, 1), date(2019, 6, 1), {"en", "de"}),
    "ru": (date(2018, 3, 1), date(2012, 9, 1), date(2017, 6, 1), {"en", "de"}),
    "zh": (date(2019, 3, 1), date(2012, 9, 1), date(2016, 6, 1), {"en", "ja"}),
    "ja": (date(2018, 4, 1), date(2014, 4, 1), date(2018, 3, 1), {"en", "zh"}),
    "ko": (date(2017, 3, 1), date(2011, 3, 1), date(2017, 2, 1), {"en", "ja"}),
    "ar": (date(2018, 1, 1), date(2012, 9, 1), date(2017, 6, 1), {"ar", "en"}),
    "hi": (date(2019, 1, 1), date(2014, 7, 1), date(2018, 5, 1), {"hi", "en"}),
    "th": (date(2020, 1, 1), date(2015, 8, 1), date(2019, 5, 1), {"en", "th"}),
    "vi": (date(2019, 3, 1), date(2013, 9, 1), date(2018, 6, 1), {"en", "ja"}),
    "el": (date(2019, 1, 1), date(2012, 9, 1), date(2018, 6, 1), {"en", "fr"}),
    "sw": (date(2018, 1, 1), date(2013, 9, 1), date(2017, 7, 1), {"sw", "en"}),
}


@pytest.mark.parametrize("language", sorted(RESUMES))
def test_a_resume_in_each_script_is_read_section_by_section(language: str) -> None:
    profile = parse_resume(RESUMES[language], default_lexicon(), TODAY)
    started, studied, graduated, spoken = EXPECTED[language]
    assert profile.text_language == language
    assert profile.info.full_name == RESUMES[language].split("\n")[0]
    [experience] = profile.experiences
    assert experience.date_start == started.isoformat() + "T00:00:00" and experience.date_end is None
    [education] = profile.educations
    assert education.date_start == studied.isoformat() + "T00:00:00"
    assert education.date_end == graduated.isoformat() + "T00:00:00"
    assert {language.name for language in profile.languages} == spoken


def test_every_language_has_month_names_and_language_names_from_cldr() -> None:
    assert len(LANGUAGES) == 43 and len(set(LANGUAGES)) == 43
    names = language_names()
    for language in LANGUAGES:
        months = month_names(language)
        assert set(months.values()) == set(range(1, 13)), language
        assert language in set(names.values()), language
    # A word two languages read differently takes the first language's reading, unless the text's is known.
    assert all_month_names()["listopad"] == 11 and month_names("hr")["listopad"] == 10
    assert find_ranges("listopad 2019 - 2020", language="hr")[0].start == date(2019, 10, 1)
    assert find_ranges("listopad 2019 - 2020")[0].start == date(2019, 11, 1)


FIRST_EIGHT = ("en", "fr", "es", "de", "it", "pt", "nl", "ro")  # in `HEADINGS`; the others in the data file


@pytest.mark.parametrize("language", LANGUAGES[len(FIRST_EIGHT) :])
def test_every_language_has_headings_for_the_main_resume_sections(language: str) -> None:
    assert LANGUAGES[: len(FIRST_EIGHT)] == FIRST_EIGHT
    sections = {section for (section, lang) in LOCALISED_HEADINGS if lang == language}
    assert {"summary", "experience", "education", "skills", "languages"} <= sections, language
    for (section, lang), headings in LOCALISED_HEADINGS.items():
        if lang == language:
            for heading in headings:  # as a resume writes it: capitals, a colon
                assert heading_of(heading.upper() + ":") == section, (language, heading)


def test_a_heading_names_one_section_in_every_language() -> None:
    seen: dict[str, str] = {}
    named = [(section, headings) for (section, _), headings in LOCALISED_HEADINGS.items()] + list(HEADINGS.items())
    for section, headings in named:
        for heading in headings:
            assert seen.setdefault(heading, section) == section, heading


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("stycznia 2019 – obecnie", date(2019, 1, 1), None),  # a date's (genitive) month
        ("2019年3月至2021年5月", date(2019, 3, 1), date(2021, 5, 1)),
        ("2020년 1월 ~ 2022년 12월", date(2020, 1, 1), date(2022, 12, 1)),
        ("٠٣/٢٠١٩ - ٠٦/٢٠٢١", date(2019, 3, 1), date(2021, 6, 1)),  # Arabic-Indic digits
        ("Şubat 2016 – Halen", date(2016, 2, 1), None),
        ("Tháng 12 2019 - Tháng 1 2021", date(2019, 12, 1), date(2021, 1, 1)),
        ("kesäkuu 2017 - nyt", date(2017, 6, 1), None),
        ("Μάιος 2015 - Ιούλιος 2016", date(2015, 5, 1), date(2016, 7, 1)),
    ],
)
def test_dates_and_ranges_in_many_languages(text: str, start: date, end: date | None) -> None:
    [found] = find_ranges(text)
    assert (found.start, found.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "language", "start", "end"),
    [
        ("มิ.ย. 2563 - ปัจจุบัน", "th", date(2020, 6, 1), None),  # Buddhist era: 543 years ahead
        ("2558 - 2562", "th", date(2015, 1, 1), date(2019, 12, 31)),
        ("มกราคม 2017 - ธันวาคม 2562", "th", date(2017, 1, 1), date(2019, 12, 1)),  # both eras in one range
        ("مهر ۱۳۹۸ - اسفند ۱۴۰۰", "fa", date(2019, 10, 1), date(2022, 3, 1)),  # Solar Hijri months
        ("۱۳۹۵ - ۱۳۹۸", "fa", date(2016, 4, 1), date(2020, 3, 31)),  # from Farvardin to the end of Esfand
        ("1398/05 - اکنون", "fa", date(2019, 8, 1), None),  # Mordad
        ("ژانویه 2019 - اکنون", "fa", date(2019, 1, 1), None),  # Gregorian months stay Gregorian
    ],
)
def test_years_in_the_era_a_language_counts_in(text: str, language: str, start: date, end: date | None) -> None:
    [found] = find_ranges(text, language)
    assert (found.start, found.end) == (start, end)


def test_era_years_are_read_only_in_their_language() -> None:
    assert find_ranges("2563 - 2565") == [] and find_ranges("2563 - 2565", "en") == []
    assert find_ranges("1395 - 1398", "en") == [] and find_ranges("1395 - 1398", "th") == []


def test_keyword_terms_of_unspaced_scripts_are_character_pairs() -> None:
    """A Chinese job and resume share the words they both write, not just the Latin ones among them."""
    job, _, _ = term_counts("招聘软件工程师，熟悉Python")
    resume, _, _ = term_counts("高级软件工程师，五年Python开发经验")
    assert {skill_hash(f"term:{word}") for word in ("软件", "工程", "程师", "python")} <= set(job) & set(resume)
    english, counts, length = term_counts("Senior Python engineers and SQL")
    assert english == sorted(skill_hash(f"term:{word}") for word in ("senior", "python", "engineer", "sql"))
    assert (counts, length) == ([1, 1, 1, 1], 4)


def test_an_era_range_broken_over_two_lines_is_joined() -> None:
    """PDF extraction breaks "2558 –" / "ปัจจุบัน" like "2021 –" / "Present"."""
    [entry] = split_entries(["วิศวกรซอฟต์แวร์", "2558 –", "ปัจจุบัน", "พัฒนาระบบ"], "th")
    assert (entry.dates.start, entry.dates.end) == (date(2015, 1, 1), None)


def test_a_range_whose_separator_sits_on_a_line_of_its_own_is_one_entry() -> None:
    """As livecareer's PDFs come out of pypdf: "07/2017" / "to" / "12/2017" is one job of six months, not
    two jobs of no time each."""
    lines = ["Accounting and Finance Supervisor", "07/2017", " ", "to ", "12/2017", "Managed the accounting team."]
    [entry] = split_entries(lines, "en")
    assert (entry.dates.start, entry.dates.end) == (date(2017, 7, 1), date(2017, 12, 1))
    assert entry.description == "Managed the accounting team."


PERSIAN_RESUME = """مریم احمدی
سوابق کاری
توسعه‌دهنده نرم‌افزار، دیجی‌کالا
مهر ۱۳۹۸ - اکنون
طراحی و پیاده‌سازی سامانه‌های پرداخت برای فروشگاه اینترنتی.
تحصیلات
دانشگاه صنعتی شریف، کارشناسی مهندسی کامپیوتر
۱۳۹۴ - ۱۳۹۸
زبان‌ها
انگلیسی (پیشرفته)، فرانسوی (مقدماتی)
"""


def test_an_iranian_resume_dated_in_the_solar_hijri_calendar() -> None:
    profile = parse_resume(PERSIAN_RESUME, default_lexicon(), TODAY)
    assert profile.text_language == "fa"
    [experience] = profile.experiences
    assert (experience.title, experience.company) == ("توسعه‌دهنده نرم‌افزار", "دیجی‌کالا")  # parted at "،"
    assert (experience.date_start, experience.date_end) == ("2019-10-01T00:00:00", None)
    [education] = profile.educations
    assert (education.school, education.title) == ("دانشگاه صنعتی شریف", "کارشناسی مهندسی کامپیوتر")
    assert (education.date_start, education.date_end) == ("2015-04-01T00:00:00", "2020-03-31T00:00:00")
    assert 7 < profile.experiences_duration < 7.3  # October 2019 to December 2026
    assert {language.name for language in profile.languages} == {"en", "fr"}


@pytest.mark.parametrize(
    ("language", "school"),
    [
        ("ar", "جامعة الملك سعود"),
        ("el", "Εθνικό Μετσόβιο Πολυτεχνείο"),
        ("hi", "दिल्ली विश्वविद्यालय"),
        ("pl", "Politechnika Warszawska"),
        ("ru", "Московский государственный университет"),
        ("tr", "Boğaziçi Üniversitesi"),
        ("vi", "Đại học Bách khoa Hà Nội"),
    ],
)
def test_the_school_of_an_education_in_other_scripts(language: str, school: str) -> None:
    [education] = parse_resume(RESUMES[language], default_lexicon(), TODAY).educations
    assert education.school == school


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Angielski - biegły, hiszpański - podstawowy", {"en", "es"}),
        ("Engleză (C1), Franceză (B2)", {"en", "fr"}),
        ("英语流利，法语基础", {"en", "fr"}),
        ("Tiếng Anh, Tiếng Pháp", {"en", "fr"}),
        ("Suomi (äidinkieli), ruotsi (hyvä)", {"fi", "sv"}),
        ("Bahasa Inggris, Bahasa Indonesia", {"en", "id"}),
    ],
)
def test_language_names_as_each_language_writes_them(text: str, spoken: set[str]) -> None:
    assert {code for code, _ in find_spoken_languages(text)} == spoken


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Doświadczenie zawodowe w firmie", "pl"),
        ("경력 사항", "ko"),
        ("職務経歴書", "ja"),
        ("工作经历", "zh"),
        ("ประสบการณ์ทำงาน", "th"),
        ("Uzoefu wa kazi na elimu", "sw"),
        ("Python, SQL, Docker", None),  # names of tools: no language to tell
    ],
)
def test_the_language_of_short_texts(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_features_of_an_earlier_extraction_are_computed_again_and_the_vectors_kept(
    workspace, store, monkeypatch
) -> None:
    """A language this release reads and the last did not (Danish) reaches stored records when their pool
    opens: the features are computed again from the stored record, with no encoder work."""
    source = workspace.pools.create(PROFILE, PoolCreate(name="people")).key
    profile = msgspec.convert(
        {"reference": "ida", "text": "Ida. Sprog: dansk, engelsk.", "languages": [{"name": "Danish"}]}, Profile
    )
    [stored] = workspace.records.index(PROFILE, source, [profile])
    with store.engine.begin() as connection:
        embedding, features = connection.execute(
            sa.text("SELECT embedding, features FROM records WHERE id = :id"), {"id": stored.id}
        ).one()
        current = RecordFeatures.decode(bytes(features))
        assert current.schema == FEATURES_SCHEMA and current.languages & language_bit("da")
        earlier_features = msgspec.structs.replace(current, languages=current.languages & ~language_bit("da"))
        earlier = msgspec.msgpack.encode(msgspec.structs.astuple(earlier_features)[:-1])  # before `schema`
        connection.execute(sa.text("UPDATE records SET features = :f WHERE id = :id"), {"f": earlier, "id": stored.id})

    def no_encoding(*args: object) -> None:
        raise AssertionError("the vectors are this model's: nothing is embedded again")

    monkeypatch.setattr(workspace.encoder, "embed_cut", no_encoding)
    monkeypatch.setattr(workspace.encoder, "embed_documents", no_encoding)
    assert workspace.records.refresh_stale(source) == 1
    with store.engine.connect() as connection:
        after, features = connection.execute(
            sa.text("SELECT embedding, features FROM records WHERE id = :id"), {"id": stored.id}
        ).one()
    assert bytes(after) == bytes(embedding)
    assert RecordFeatures.decode(bytes(features)).languages & language_bit("da")
