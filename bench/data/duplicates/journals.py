"""Journal, supplement, preprint-server and book table used by make_benchmark.py.

Each entry gives the names the databases use (publisher's full name, NLM abbreviation,
Embase's spelling where it differs), the DOI pattern of the publisher, how volumes are
numbered (volume = year - vol_off), issues per year, the page style and the abstract
style. Index flags: M = MEDLINE/PubMed, P = PsycINFO, C = CINAHL.
Page styles: range (continuous pagination), e5 (JMIR-style e12345 = DOI suffix),
e0 (PLoS e0123456), art6 (6-digit article number), art4 (MDPI 4-digit), bmc (article
number 1-999), bmjo (e0xxxxx), bjo (e123), fpage (Lakartidningen letter codes).
"""

J = {}


def j(key, name, abbr, doi, vol_off, issues, pages="range", idx="M", abs_style="plain",
      publisher="", code="", embase=None, tc=False, lang="en", ppy=1200, online_only=False,
      copyright=None, issn=""):
    J[key] = dict(key=key, name=name, abbr=abbr, doi=doi, vol_off=vol_off, issues=issues,
                  pages=pages, idx=idx, abs=abs_style, publisher=publisher, code=code,
                  embase=embase or name.replace(" & ", " and "), tc=tc, lang=lang, ppy=ppy,
                  online_only=online_only, copyright=copyright, issn=issn)


# --- English-language journals
j("JAH", "Journal of Adolescent Health", "J Adolesc Health", "elsevier_old", 1955, 12, idx="MPC",
  abs_style="jah", publisher="elsevier", code="jadohealth", ppy=1600,
  copyright="Society for Adolescent Health and Medicine. Published by Elsevier Inc.")
j("PSYSERV", "Psychiatric Services", "Psychiatr Serv", "appi", 1949, 12, idx="MPC", abs_style="ps",
  publisher="appi", tc=True, ppy=1300)
j("PRJ", "Psychiatric Rehabilitation Journal", "Psychiatr Rehabil J", "apa", 1977, 4, idx="MPC",
  abs_style="apa", publisher="apa", code="prj", tc=True, ppy=420)
j("PSYSERVS", "Psychological Services", "Psychol Serv", "apa", 2003, 4, idx="MP", abs_style="apa",
  publisher="apa", code="ser", tc=True, ppy=800)
j("CMHJ", "Community Mental Health Journal", "Community Ment Health J", "springer", 1964, 8,
  idx="MPC", abs_style="plain", publisher="springer", code="10597", ppy=1500)
j("EIP", "Early Intervention in Psychiatry", "Early Interv Psychiatry", "wiley", 2006, 6, idx="MPC",
  abs_style="wiley", publisher="wiley", code="eip", ppy=1300,
  copyright="John Wiley & Sons Australia, Ltd")
j("JMIRMH", "JMIR Mental Health", "JMIR Ment Health", "jmir", 2013, 12, pages="e5", idx="MPC",
  abs_style="jmir", publisher="jmir", online_only=True)
j("JMIR", "Journal of Medical Internet Research", "J Med Internet Res", "jmir", 1998, 12, pages="e5",
  idx="MPC", abs_style="jmir", publisher="jmir", online_only=True)
j("JMIRRP", "JMIR Research Protocols", "JMIR Res Protoc", "jmir", 2011, 12, pages="e5", idx="M",
  abs_style="jmir", publisher="jmir", online_only=True)
j("BMCPSY", "BMC Psychiatry", "BMC Psychiatry", "bmc", 2000, 1, pages="bmc", idx="MPC",
  abs_style="bmc", publisher="bmc", code="12888", online_only=True)
j("BMCPH", "BMC Public Health", "BMC Public Health", "bmc", 2000, 1, pages="bmc", idx="MC",
  abs_style="bmc", publisher="bmc", code="12889", online_only=True)
j("TRIALS", "Trials", "Trials", "bmc", 1999, 1, pages="bmc", idx="MC", abs_style="bmcproto",
  publisher="bmc", code="13063", online_only=True)
j("SYSREV", "Systematic Reviews", "Syst Rev", "bmc", 2011, 1, pages="bmc", idx="M",
  abs_style="bmcproto", publisher="bmc", code="13643", online_only=True)
j("CAPMH", "Child and Adolescent Psychiatry and Mental Health", "Child Adolesc Psychiatry Ment Health",
  "bmc", 2006, 1, pages="bmc", idx="MP", abs_style="bmc", publisher="bmc", code="13034",
  online_only=True)
j("IMPSCI", "Implementation Science", "Implement Sci", "bmc", 2005, 1, pages="bmc", idx="M",
  abs_style="bmc", publisher="bmc", code="13012", online_only=True)
j("BMJOPEN", "BMJ Open", "BMJ Open", "bmj", 2010, 12, pages="bmjo", idx="MC", abs_style="bmj",
  publisher="bmj", online_only=True)
j("EBMH", "BMJ Mental Health", "BMJ Ment Health", "bmj_ebmh", 1997, 1, pages="bmjo", idx="MP",
  abs_style="bmj", publisher="bmj", online_only=True)
j("LANCETPSY", "The Lancet Psychiatry", "Lancet Psychiatry", "lancet", 2013, 12, idx="MP",
  abs_style="lancet", publisher="elsevier", embase="The Lancet Psychiatry", ppy=1100,
  copyright="Elsevier Ltd. All rights reserved.")
j("JAACAP", "Journal of the American Academy of Child & Adolescent Psychiatry",
  "J Am Acad Child Adolesc Psychiatry", "elsevier_old", 1961, 12, idx="MPC", abs_style="ps",
  publisher="elsevier", code="jaac", tc=True, ppy=1400,
  copyright="American Academy of Child and Adolescent Psychiatry. Published by Elsevier Inc.")
j("CAMH", "Child and Adolescent Mental Health", "Child Adolesc Ment Health", "wiley", 1995, 4,
  idx="MPC", abs_style="wiley", publisher="wiley", code="camh", ppy=420,
  copyright="Association for Child and Adolescent Mental Health")
j("JCPP", "Journal of Child Psychology and Psychiatry", "J Child Psychol Psychiatry", "wiley", 1959,
  12, idx="MP", abs_style="wiley", publisher="wiley", code="jcpp", ppy=1400,
  copyright="Association for Child and Adolescent Mental Health")
j("ECAP", "European Child & Adolescent Psychiatry", "Eur Child Adolesc Psychiatry", "springer", 1991,
  12, idx="MP", abs_style="plain", publisher="springer", code="00787", ppy=1900)
j("JMH", "Journal of Mental Health", "J Ment Health", "tandf", 1991, 6, idx="MPC", abs_style="tandf",
  publisher="tandf", issn="09638237", ppy=700)
j("HEX", "Health Expectations", "Health Expect", "wiley", 1997, 6, idx="MC", abs_style="wiley",
  publisher="wiley", code="hex", ppy=2000, copyright="The Authors. Health Expectations published by John Wiley & Sons Ltd")
j("SPPE", "Social Psychiatry and Psychiatric Epidemiology", "Soc Psychiatry Psychiatr Epidemiol",
  "springer", 1965, 12, idx="MP", publisher="springer", code="00127", ppy=1600)
j("IJMHN", "International Journal of Mental Health Nursing", "Int J Ment Health Nurs", "wiley", 1991,
  6, idx="MC", abs_style="plain", publisher="wiley", code="inm", ppy=1500,
  copyright="Australian College of Mental Health Nurses Inc.")
j("JPMHN", "Journal of Psychiatric and Mental Health Nursing", "J Psychiatr Ment Health Nurs",
  "wiley", 1993, 6, idx="MC", abs_style="wiley", publisher="wiley", code="jpm", ppy=900,
  copyright="John Wiley & Sons Ltd")
j("APMH", "Administration and Policy in Mental Health and Mental Health Services Research",
  "Adm Policy Ment Health", "springer", 1973, 6, idx="MP", publisher="springer", code="10488", ppy=1000)
j("JYA", "Journal of Youth and Adolescence", "J Youth Adolesc", "springer", 1971, 12, idx="MP",
  publisher="springer", code="10964", ppy=2600)
j("JSH", "Journal of School Health", "J Sch Health", "wiley", 1930, 12, idx="MPC", publisher="wiley",
  code="josh", ppy=1000, copyright="American School Health Association")
j("SMH", "School Mental Health", "Sch Ment Health", "springer", 2008, 4, idx="P", publisher="springer",
  code="12310", ppy=900)
j("JACH", "Journal of American College Health", "J Am Coll Health", "tandf", 1952, 8, idx="MPC",
  abs_style="jach", publisher="tandf", issn="07448481", ppy=900)
j("FPSY", "Frontiers in Psychiatry", "Front Psychiatry", "frontiers", 2009, 1, pages="art6", idx="MP",
  abs_style="frontiers", publisher="frontiers", online_only=True)
j("PLOS", "PLoS ONE", "PLoS One", "plos", 2005, 12, pages="e0", idx="MC", abs_style="plos",
  publisher="plos", online_only=True)
j("ANZJP", "Australian & New Zealand Journal of Psychiatry", "Aust N Z J Psychiatry", "sage", 1966, 12,
  idx="MP", abs_style="sage", publisher="sage", issn="00048674", ppy=1200)
j("AUSTPSY", "Australasian Psychiatry", "Australas Psychiatry", "sage", 1992, 6, idx="MC",
  abs_style="plainobj", publisher="sage", issn="10398562", ppy=700)
j("CJP", "Canadian Journal of Psychiatry", "Can J Psychiatry", "sage", 1955, 12, idx="MP",
  abs_style="sage", publisher="sage", issn="07067437", ppy=900,
  embase="Canadian Journal of Psychiatry")
j("CYSR", "Children and Youth Services Review", "Child Youth Serv Rev", "elsevier_new", 0, 12,
  pages="art6e", idx="P", publisher="elsevier", code="childyouth", ppy=0,
  copyright="Elsevier Ltd. All rights reserved.")
j("AJCP", "American Journal of Community Psychology", "Am J Community Psychol", "wiley2", 1956, 4,
  idx="MP", publisher="wiley", code="ajcp", ppy=500, copyright="Society for Community Research and Action")
j("BJPSY", "The British Journal of Psychiatry", "Br J Psychiatry", "bjp", 1805, 12, idx="MP",
  abs_style="bjpsych", publisher="cambridge", ppy=700, embase="British Journal of Psychiatry")
j("BJPO", "BJPsych Open", "BJPsych Open", "bjo", 2014, 6, pages="bjo", idx="MP", abs_style="bjpsych",
  publisher="cambridge", online_only=True)
j("IJERPH", "International Journal of Environmental Research and Public Health",
  "Int J Environ Res Public Health", "mdpi", 2003, 24, pages="art4", idx="MC", abs_style="plain",
  publisher="mdpi", online_only=True)
j("INTERV", "Internet Interventions", "Internet Interv", "elsevier_new", 0, 4, pages="art6i",
  idx="MP", publisher="elsevier", code="invent", copyright="The Authors. Published by Elsevier B.V.")
j("PSYMED", "Psychological Medicine", "Psychol Med", "psymed", 1970, 16, idx="MP", abs_style="bjpsych",
  publisher="cambridge", ppy=2800)
j("JADOL", "Journal of Adolescence", "J Adolesc", "jadol", 0, 8, idx="MP", publisher="elsevier",
  code="adolescence", ppy=0, copyright="The Foundation for Professionals in Services for Adolescents")
j("EURPSY", "European Psychiatry", "Eur Psychiatry", "eurpsy", 1963, 1, pages="eurpsy", idx="MP",
  abs_style="plain", publisher="cambridge", ppy=0)
j("MHRJ", "Mental Health Review Journal", "Ment Health Rev J", "emerald", 1995, 4, idx="PC",
  abs_style="emerald", publisher="emerald", code="MHRJ", ppy=400)
j("JPMH", "Journal of Public Mental Health", "J Public Ment Health", "emerald", 2001, 4, idx="PC",
  abs_style="emerald", publisher="emerald", code="JPMH", ppy=350)
j("HSCC", "Health & Social Care in the Community", "Health Soc Care Community", "wiley", 1992, 6,
  idx="MC", publisher="wiley", code="hsc", ppy=2400, copyright="John Wiley & Sons Ltd")
j("IJSP", "International Journal of Social Psychiatry", "Int J Soc Psychiatry", "sage", 1954, 8,
  idx="MP", abs_style="sage", publisher="sage", issn="00207640", ppy=1400)
j("CCPP", "Clinical Child Psychology and Psychiatry", "Clin Child Psychol Psychiatry", "sage", 1995, 4,
  idx="MP", publisher="sage", issn="13591045", ppy=1000)
j("JADR", "Journal of Adolescent Research", "J Adolesc Res", "sage", 1985, 6, idx="P", publisher="sage",
  issn="07435584", ppy=800)
j("JCFS", "Journal of Child and Family Studies", "J Child Fam Stud", "springer", 1991, 12, idx="P",
  publisher="springer", code="10826", ppy=3200)
j("IJAY", "International Journal of Adolescence and Youth", "Int J Adolesc Youth", "tandf", 1995, 1,
  idx="P", publisher="tandf", issn="02673843", ppy=600)
j("JYS", "Journal of Youth Studies", "J Youth Stud", "tandf", 1997, 10, idx="P", publisher="tandf",
  issn="13676261", ppy=1400)
j("SSM", "Social Science & Medicine", "Soc Sci Med", "elsevier_new", 0, 24, pages="art6s", idx="MP",
  publisher="elsevier", code="socscimed", copyright="Elsevier Ltd. All rights reserved.")
j("SCHBULL", "Schizophrenia Bulletin", "Schizophr Bull", "oup", 1974, 6, idx="MP", abs_style="plain",
  publisher="oup", ppy=1500)
j("NJP", "Nordic Journal of Psychiatry", "Nord J Psychiatry", "tandf", 1946, 8, idx="MP",
  abs_style="tandf", publisher="tandf", issn="08039488", ppy=650)
j("BJP", "Brazilian Journal of Psychiatry", "Braz J Psychiatry", "scielo", 1978, 6, idx="MP",
  abs_style="bmc", publisher="scielo", ppy=600, embase="Revista Brasileira de Psiquiatria")
j("JAMAPSY", "JAMA Psychiatry", "JAMA Psychiatry", "jama", 2013 - 70, 12, idx="MP", abs_style="jama",
  publisher="jama", code="jamapsychiatry", tc=True, ppy=1300)
j("JAMAPED", "JAMA Pediatrics", "JAMA Pediatr", "jama", 2013 - 167, 12, idx="M", abs_style="jama",
  publisher="jama", code="jamapediatrics", tc=True, ppy=1200)
j("BBI", "Brain, Behavior, and Immunity", "Brain Behav Immun", "elsevier_old", 1986, 8, idx="MP",
  publisher="elsevier", code="bbi", ppy=900, copyright="Elsevier Inc. All rights reserved.")
# --- other languages (titles are translated by the databases)
j("PSYPRAX", "Psychiatrische Praxis", "Psychiatr Prax", "thieme", 1973, 8, idx="MP", abs_style="german",
  publisher="thieme", lang="de", ppy=450, copyright="Georg Thieme Verlag KG Stuttgart · New York")
j("PKK", "Praxis der Kinderpsychologie und Kinderpsychiatrie", "Prax Kinderpsychol Kinderpsychiatr",
  "vr", 1951, 8, idx="MP", abs_style="plain", publisher="vr", lang="de", ppy=700)
j("ENCEPH", "L'Encéphale", "Encephale", "elsevier_old", 1974, 6, idx="MP", abs_style="french",
  publisher="elsevier", code="encep", lang="fr", ppy=600, embase="Encephale",
  copyright="L'Encéphale, Paris.")
j("SANTEMQ", "Santé mentale au Québec", "Sante Ment Que", "erudit", 1975, 2, idx="MP",
  abs_style="plain", publisher="erudit", lang="fr", ppy=350, embase="Sante mentale au Quebec")
j("ACTAS", "Actas Españolas de Psiquiatría", "Actas Esp Psiquiatr", "none", 1972, 6, idx="M",
  abs_style="plain", publisher="", lang="es", ppy=300, embase="Actas Espanolas de Psiquiatria")
j("GACSANIT", "Gaceta Sanitaria", "Gac Sanit", "elsevier_old", 1986, 6, idx="MC", abs_style="plain",
  publisher="elsevier", code="gaceta", lang="es", ppy=600)
j("TIJDSCHR", "Tijdschrift voor Psychiatrie", "Tijdschr Psychiatr", "none", 1958, 12, idx="M",
  abs_style="plain", publisher="", lang="nl", ppy=800)
j("TIDSSKR", "Tidsskrift for Den norske legeforening", "Tidsskr Nor Laegeforen", "tidsskr", 1880, 18,
  idx="M", abs_style="plain", publisher="tidsskr", lang="no", ppy=0, pages="tidsskr",
  embase="Tidsskrift for den Norske Laegeforening")
j("LAKARTID", "Läkartidningen", "Lakartidningen", "none", 1903, 52, idx="M", abs_style="plain",
  publisher="", lang="sv", pages="fpage", embase="Lakartidningen")
j("CIENSAUDE", "Ciência & Saúde Coletiva", "Cien Saude Colet", "ciensaude", 1995, 12, idx="M",
  abs_style="plain", publisher="scielo", lang="pt", ppy=4800, embase="Ciencia e Saude Coletiva")
j("SEISHIN", "Seishin Shinkeigaku Zasshi", "Seishin Shinkeigaku Zasshi", "none", 1898, 12, idx="M",
  abs_style="plain", publisher="", lang="ja", ppy=900, embase="Psychiatria et Neurologia Japonica")
j("PSYCHPOL", "Psychiatria Polska", "Psychiatr Pol", "psychpol", 1966, 6, idx="M", abs_style="plain",
  publisher="psychpol", lang="pl", ppy=1300)
j("RIVPSICH", "Rivista di Psichiatria", "Riv Psichiatr", "rivpsich", 1965, 6, idx="M",
  abs_style="plain", publisher="rivpsich", lang="it", ppy=320)

# --- preprint servers
PREPRINT = {
    "PSYARXIV": dict(name="PsyArXiv", doi="psyarxiv"),
    "MEDRXIV": dict(name="medRxiv", doi="medrxiv"),
    "RESSQ": dict(name="Research Square", doi="ressq"),
}

# --- books (journal field of a chapter = book title)
BOOKS = {
    "BOOKPEER": dict(name="Peer Support in Youth Mental Health: International Perspectives",
                     short="Peer Support in Youth Mental Health", publisher="Springer",
                     doi="10.1007/978-3-030-71234-5_{ch}", isbn="978-3-030-71234-5"),
    "BOOKHAND": dict(name="The Oxford Handbook of Youth Mental Health Services",
                     short="Oxford Handbook of Youth Mental Health Services", publisher="Oxford University Press",
                     doi="10.1093/oxfordhb/9780190912345.013.{ch}", isbn="978-0-19-091234-5"),
    "BOOKREAL": dict(name="Realist Evaluation in Mental Health Research: Principles and Practice",
                     short="Realist Evaluation in Mental Health Research", publisher="Routledge",
                     doi="10.4324/9781003312345-{ch}", isbn="978-1-003-31234-5"),
}

LANG = {  # language of publication as each database writes it
    "en": dict(pubmed="eng", name="English", iso="en"),
    "de": dict(pubmed="ger", name="German", iso="de"),
    "fr": dict(pubmed="fre", name="French", iso="fr"),
    "es": dict(pubmed="spa", name="Spanish", iso="es"),
    "nl": dict(pubmed="dut", name="Dutch", iso="nl"),
    "no": dict(pubmed="nor", name="Norwegian", iso="no"),
    "sv": dict(pubmed="swe", name="Swedish", iso="sv"),
    "pt": dict(pubmed="por", name="Portuguese", iso="pt"),
    "ja": dict(pubmed="jpn", name="Japanese", iso="ja"),
    "pl": dict(pubmed="pol", name="Polish", iso="pl"),
    "it": dict(pubmed="ita", name="Italian", iso="it"),
}
