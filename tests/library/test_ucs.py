import pytest

from autofoley.library.ucs import UCS_CATEGORIES, is_ambience_category, parse_ucs_name


def test_parses_all_blocks_of_a_ucs_name():
    name = parse_ucs_name("GLASBrk_Bottle Smash Concrete_AB_MyLib.wav")
    assert name is not None
    assert name.cat_id == "GLASBrk"
    assert name.code == "GLAS"
    assert name.category == "GLASS"
    assert name.subcategory == "Brk"
    assert name.fx_name == "Bottle Smash Concrete"
    assert name.creator_id == "AB"
    assert name.source_id == "MyLib"
    assert name.user_category == "" and name.user_data == ""


def test_folders_and_extension_are_ignored():
    name = parse_ucs_name("/lib/Ambience/AMBForst_Morning Birds Distant_XY_Lib.flac")
    assert (name.code, name.category, name.subcategory) == ("AMB", "AMBIENCE", "Forst")
    assert name.fx_name == "Morning Birds Distant"


def test_user_category_and_user_data():
    name = parse_ucs_name("DOORWood-Front_Door Slam Heavy_AB_MyLib_take2_extra.wav")
    assert name.cat_id == "DOORWood"
    assert name.category == "DOORS"
    assert name.user_category == "Front"
    assert name.user_data == "take2_extra"


def test_two_letter_code_splits_before_camel_case_subcategory():
    name = parse_ucs_name("UIBeep_Menu Click_AB_Lib.wav")
    assert (name.code, name.subcategory, name.category) == ("UI", "Beep", "USER INTERFACE")


def test_unknown_code_keeps_the_code_as_category():
    name = parse_ucs_name("ZQXWeird_Strange Noise_AB_Lib.wav")
    assert name is not None
    assert name.code == "ZQX"
    assert name.category == "ZQX"
    assert name.subcategory == "Weird"


@pytest.mark.parametrize("filename", [
    "door slam.wav",  # plain name
    "Door_Slam_Heavy_01.wav",  # CatID is not CODE+Sub
    "GLASBrk_Bottle.wav",  # too few blocks
    "GLASBrk_Bottle_AB.wav",  # no SourceID
    "GLASBRK_Bottle_AB_Lib.wav",  # subcategory has no lower-case letter
    "glasBrk_Bottle_AB_Lib.wav",  # code must be upper-case
    "GLAS_Bottle_AB_Lib.wav",  # no subcategory
    "GLASBrk__AB_Lib.wav",  # empty FXName
    "GLASBrk_Bottle_ _Lib.wav",  # blank CreatorID
    "",
])
def test_names_that_are_not_ucs_give_none(filename):
    assert parse_ucs_name(filename) is None


@pytest.mark.parametrize("code, category", [
    ("AMB", "AMBIENCE"), ("ANML", "ANIMALS"), ("BIRD", "BIRDS"), ("DOOR", "DOORS"),
    ("GLAS", "GLASS"), ("FIRE", "FIRE"), ("WATR", "WATER"), ("WTHR", "WEATHER"),
    ("VEH", "VEHICLES"), ("FOLY", "FOLEY"), ("FEET", "FOOTSTEPS"), ("METL", "METAL"),
    ("WOOD", "WOOD"), ("EXPL", "EXPLOSIONS"), ("GUNS", "GUNS"), ("ALRM", "ALARMS"),
    ("BELL", "BELLS"), ("CLOK", "CLOCKS"), ("ELEC", "ELECTRICITY"), ("MACH", "MACHINES"),
    ("TOOL", "TOOLS"),
])
def test_category_table_covers_common_codes(code, category):
    assert UCS_CATEGORIES[code] == category
    assert parse_ucs_name(f"{code}Misc_Some Sound_AB_Lib.wav").category == category


@pytest.mark.parametrize("category, expected", [
    ("AMBIENCE", True), ("ambience", True), ("AMB", True), ("ROOM TONE", True),
    ("GLASS", False), ("WEATHER", False), ("AMBULANCE", False), ("", False),
])
def test_is_ambience_category(category, expected):
    assert is_ambience_category(category) is expected
