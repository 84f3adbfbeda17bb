"""Parse Universal Category System (UCS) sound file names.

A UCS name is ``CatID_FXName_CreatorID_SourceID[_UserData].ext``, e.g.
``GLASBrk_Bottle Smash Concrete_AB_MyLib.wav``. The CatID glues an upper-case
category code (``GLAS``) to a CamelCase subcategory (``Brk``); UCS v8 also
allows ``CatID-UserCategory`` in the first block. Many commercial libraries
follow the convention, so a name alone gives a category and a description
without opening the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

# Category code (CatShort) -> category name, from the public UCS v8.2 category
# list (universalcategorysystem.com), written down as best known rather than
# generated from the spreadsheet. A few categories are listed under more than
# one spelling seen in libraries (CLOCK/CLOK, ...) so both resolve. A code
# missing here is not an error: its category is the code itself.
UCS_CATEGORIES: dict[str, str] = {
    "AIR": "AIR",
    "AERO": "AIRCRAFT",
    "ALRM": "ALARMS",
    "AMB": "AMBIENCE",
    "ANML": "ANIMALS",
    "ARCHV": "ARCHIVED",
    "BEEP": "BEEPS",
    "BELL": "BELLS",
    "BIRD": "BIRDS",
    "BOAT": "BOATS",
    "BLLT": "BULLETS",
    "BULT": "BULLETS",
    "TOON": "CARTOON",
    "CERM": "CERAMICS",
    "CHAIN": "CHAINS",
    "CHEM": "CHEMICALS",
    "CLOCK": "CLOCKS",
    "CLOK": "CLOCKS",
    "CLOTH": "CLOTH",
    "COMM": "COMMUNICATIONS",
    "COMP": "COMPUTERS",
    "CREA": "CREATURES",
    "CROWD": "CROWDS",
    "CRWD": "CROWDS",
    "DSGN": "DESIGNED",
    "DEST": "DESTRUCTION",
    "DIRT": "DIRT & SAND",
    "DOOR": "DOORS",
    "DRWR": "DRAWERS",
    "ELEC": "ELECTRICITY",
    "EQUIP": "EQUIPMENT",
    "EXPL": "EXPLOSIONS",
    "FART": "FARTS",
    "FGHT": "FIGHT",
    "FIRE": "FIRE",
    "FIREWRK": "FIREWORKS",
    "FWRK": "FIREWORKS",
    "FOLY": "FOLEY",
    "FOOD": "FOOD & DRINK",
    "FEET": "FOOTSTEPS",
    "FURN": "FURNITURE",
    "GAME": "GAMES",
    "GEOT": "GEOTHERMAL",
    "GLAS": "GLASS",
    "GORE": "GORE",
    "GUNS": "GUNS",
    "HAIR": "HAIR",
    "HORN": "HORNS",
    "HMN": "HUMAN",
    "ICE": "ICE",
    "LASR": "LASERS",
    "LETHR": "LEATHER",
    "LIQ": "LIQUID & MUD",
    "MACH": "MACHINES",
    "MAGC": "MAGIC",
    "MECH": "MECHANICAL",
    "METL": "METAL",
    "MOTR": "MOTORS",
    "MOVE": "MOVEMENT",
    "MUSC": "MUSICAL",
    "NATDIS": "NATURAL DISASTER",
    "OBJ": "OBJECTS",
    "PAPR": "PAPER",
    "PLAS": "PLASTIC",
    "RAIN": "RAIN",
    "ROBO": "ROBOTS",
    "ROCK": "ROCKS",
    "ROPE": "ROPE",
    "RUBR": "RUBBER",
    "SCI": "SCIFI",
    "SNOW": "SNOW",
    "SPRT": "SPORTS",
    "SWSH": "SWOOSHES",
    "TOOL": "TOOLS",
    "TOY": "TOYS",
    "TRAN": "TRAINS",
    "UI": "USER INTERFACE",
    "VEH": "VEHICLES",
    "VOX": "VOICES",
    "WATR": "WATER",
    "WEAP": "WEAPONS",
    "WTHR": "WEATHER",
    "WHSH": "WHOOSHES",
    "WIND": "WIND",
    "WNDW": "WINDOWS",
    "WING": "WINGS",
    "WOOD": "WOOD",
}

# Categories whose sounds are beds rather than events. UCS files room tone
# under AMBIENCE, but CSV sidecars and other tools often name it on its own.
_AMBIENCE_CATEGORIES = frozenset({"AMBIENCE", "ROOM TONE"})

# Upper-case code, then a subcategory that starts upper-case and holds at
# least one lower-case letter. The greedy code backtracks, so "GLASBrk"
# splits as GLAS + Brk and "UIBeep" as UI + Beep.
_CAT_ID = re.compile(r"([A-Z]{2,7})([A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


@dataclass(frozen=True)
class UcsName:
    """The blocks of a UCS file name."""

    cat_id: str  # e.g. "GLASBrk"
    code: str  # the category part of the CatID, e.g. "GLAS"
    category: str  # e.g. "GLASS"; the code itself when it is not in the table
    subcategory: str  # the CamelCase part of the CatID, e.g. "Brk"
    fx_name: str  # e.g. "Bottle Smash Concrete"
    creator_id: str
    source_id: str
    user_category: str = ""  # from "CatID-UserCategory", when present
    user_data: str = ""  # blocks after SourceID, joined with "_"


def parse_ucs_name(filename: str) -> UcsName | None:
    """Split a UCS-shaped file name into its blocks; None for any other name.

    ``filename`` may carry folders and an extension; both are ignored.
    """
    name = PurePath(filename).name
    name = _EXTENSION.sub("", name)
    blocks = name.split("_")
    if len(blocks) < 4:
        return None
    cat_block, fx_name, creator_id, source_id = (b.strip() for b in blocks[:4])
    if not (fx_name and creator_id and source_id):
        return None
    cat_id, _, user_category = cat_block.partition("-")
    match = _CAT_ID.fullmatch(cat_id)
    if not match:
        return None
    code, subcategory = match.groups()
    return UcsName(
        cat_id=cat_id,
        code=code,
        category=UCS_CATEGORIES.get(code, code),
        subcategory=subcategory,
        fx_name=fx_name,
        creator_id=creator_id,
        source_id=source_id,
        user_category=user_category.strip(),
        user_data="_".join(blocks[4:]).strip(),
    )


def is_ambience_category(category: str) -> bool:
    """True for the UCS categories that hold beds (AMBIENCE, ROOM TONE).

    Accepts a category name or its code, in any case.
    """
    key = category.strip().upper()
    return key in _AMBIENCE_CATEGORIES or UCS_CATEGORIES.get(key) in _AMBIENCE_CATEGORIES
