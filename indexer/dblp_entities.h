#ifndef PEERGRAPH_DBLP_ENTITIES_H
#define PEERGRAPH_DBLP_ENTITIES_H
/* Named character entities of dblp.xml (generated from dblp.dtd's ISO 8879
 * Latin-1 set plus the ISO Latin-2 names of U+0100..U+017F, as HTML5 names
 * them), sorted for bsearch. The XML predefined five are left to libxml2. */
static const struct dblp_entity {
    const char *name;
    unsigned cp;
} dblp_entities[] = {
    {"AElig", 198}, {"Aacute", 193}, {"Abreve", 258}, {"Acirc", 194}, {"Agrave", 192},
    {"Amacr", 256}, {"Aogon", 260}, {"Aring", 197}, {"Atilde", 195}, {"Auml", 196},
    {"COPY", 169}, {"Cacute", 262}, {"Ccaron", 268}, {"Ccedil", 199}, {"Ccirc", 264},
    {"Cdot", 266}, {"Cedilla", 184}, {"CenterDot", 183}, {"Dcaron", 270},
    {"DiacriticalAcute", 180}, {"Dot", 168}, {"DoubleDot", 168}, {"Dstrok", 272}, {"ENG", 330},
    {"ETH", 208}, {"Eacute", 201}, {"Ecaron", 282}, {"Ecirc", 202}, {"Edot", 278},
    {"Egrave", 200}, {"Emacr", 274}, {"Eogon", 280}, {"Euml", 203}, {"Gbreve", 286},
    {"Gcedil", 290}, {"Gcirc", 284}, {"Gdot", 288}, {"Hcirc", 292}, {"Hstrok", 294},
    {"IJlig", 306}, {"Iacute", 205}, {"Icirc", 206}, {"Idot", 304}, {"Igrave", 204},
    {"Imacr", 298}, {"Iogon", 302}, {"Itilde", 296}, {"Iuml", 207}, {"Jcirc", 308},
    {"Kcedil", 310}, {"Lacute", 313}, {"Lcaron", 317}, {"Lcedil", 315}, {"Lmidot", 319},
    {"Lstrok", 321}, {"Nacute", 323}, {"Ncaron", 327}, {"Ncedil", 325},
    {"NonBreakingSpace", 160}, {"Ntilde", 209}, {"OElig", 338}, {"Oacute", 211}, {"Ocirc", 212},
    {"Odblac", 336}, {"Ograve", 210}, {"Omacr", 332}, {"Oslash", 216}, {"Otilde", 213},
    {"Ouml", 214}, {"PlusMinus", 177}, {"REG", 174}, {"Racute", 340}, {"Rcaron", 344},
    {"Rcedil", 342}, {"Sacute", 346}, {"Scaron", 352}, {"Scedil", 350}, {"Scirc", 348},
    {"THORN", 222}, {"Tcaron", 356}, {"Tcedil", 354}, {"Tstrok", 358}, {"Uacute", 218},
    {"Ubreve", 364}, {"Ucirc", 219}, {"Udblac", 368}, {"Ugrave", 217}, {"Umacr", 362},
    {"Uogon", 370}, {"Uring", 366}, {"Utilde", 360}, {"Uuml", 220}, {"Wcirc", 372},
    {"Yacute", 221}, {"Ycirc", 374}, {"Yuml", 376}, {"Zacute", 377}, {"Zcaron", 381},
    {"Zdot", 379}, {"aacute", 225}, {"abreve", 259}, {"acirc", 226}, {"acute", 180},
    {"aelig", 230}, {"agrave", 224}, {"amacr", 257}, {"angst", 197}, {"aogon", 261},
    {"aring", 229}, {"atilde", 227}, {"auml", 228}, {"brvbar", 166}, {"cacute", 263},
    {"ccaron", 269}, {"ccedil", 231}, {"ccirc", 265}, {"cdot", 267}, {"cedil", 184},
    {"cent", 162}, {"centerdot", 183}, {"circledR", 174}, {"copy", 169}, {"curren", 164},
    {"dcaron", 271}, {"deg", 176}, {"die", 168}, {"div", 247}, {"divide", 247}, {"dstrok", 273},
    {"eacute", 233}, {"ecaron", 283}, {"ecirc", 234}, {"edot", 279}, {"egrave", 232},
    {"emacr", 275}, {"eng", 331}, {"eogon", 281}, {"eth", 240}, {"euml", 235}, {"gbreve", 287},
    {"gcirc", 285}, {"gdot", 289}, {"half", 189}, {"hcirc", 293}, {"hstrok", 295},
    {"iacute", 237}, {"icirc", 238}, {"iexcl", 161}, {"igrave", 236}, {"ijlig", 307},
    {"imacr", 299}, {"imath", 305}, {"inodot", 305}, {"iogon", 303}, {"iquest", 191},
    {"itilde", 297}, {"iuml", 239}, {"jcirc", 309}, {"kcedil", 311}, {"kgreen", 312},
    {"lacute", 314}, {"laquo", 171}, {"lcaron", 318}, {"lcedil", 316}, {"lmidot", 320},
    {"lstrok", 322}, {"macr", 175}, {"micro", 181}, {"middot", 183}, {"nacute", 324},
    {"napos", 329}, {"nbsp", 160}, {"ncaron", 328}, {"ncedil", 326}, {"not", 172},
    {"ntilde", 241}, {"oacute", 243}, {"ocirc", 244}, {"odblac", 337}, {"oelig", 339},
    {"ograve", 242}, {"omacr", 333}, {"ordf", 170}, {"ordm", 186}, {"oslash", 248},
    {"otilde", 245}, {"ouml", 246}, {"para", 182}, {"plusmn", 177}, {"pm", 177}, {"pound", 163},
    {"racute", 341}, {"raquo", 187}, {"rcaron", 345}, {"rcedil", 343}, {"reg", 174},
    {"sacute", 347}, {"scaron", 353}, {"scedil", 351}, {"scirc", 349}, {"sect", 167},
    {"shy", 173}, {"strns", 175}, {"szlig", 223}, {"tcaron", 357}, {"tcedil", 355},
    {"thorn", 254}, {"times", 215}, {"tstrok", 359}, {"uacute", 250}, {"ubreve", 365},
    {"ucirc", 251}, {"udblac", 369}, {"ugrave", 249}, {"umacr", 363}, {"uml", 168},
    {"uogon", 371}, {"uring", 367}, {"utilde", 361}, {"uuml", 252}, {"wcirc", 373},
    {"yacute", 253}, {"ycirc", 375}, {"yen", 165}, {"yuml", 255}, {"zacute", 378},
    {"zcaron", 382}, {"zdot", 380},
};
#endif
