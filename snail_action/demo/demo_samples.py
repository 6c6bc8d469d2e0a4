"""Samples of what phones and designers commit, for the demo's repository: an MPO-style phone photo,
an iPhone HEIC photo and an SVG icon.

The HEIC is bytes made once with pillow-heif (an encoder the installed product does not carry: the
backend's pi-heif only decodes): a 480x300 sunset stored sideways (300x480) with EXIF orientation 6, as an
iPhone writes it, 4.7 KB.
"""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw

_HEIC = (
    "AAAAHGZ0eXBoZWljAAAAAG1pZjFoZWljbWlhZgAAAaJtZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAA"
    "ADRpbG9jAAAAAERAAAIAAQAAAAABxgABAAAAAAAAEG4AAgAAAAASNAABAAAAAAAAAEwAAAA4aWluZgAAAAAAAgAAABVpbmZlAgAA"
    "AAABAABodmMxAAAAABVpbmZlAgAAAQACAABFeGlmAAAAAA5waXRtAAAAAAABAAAA4WlwcnAAAADBaXBjbwAAAHlodmNDAQNwAAAA"
    "kAAAAAAAP/AA/P34+AAADwNgAAEAGEABDAH//wNwAAADAJAAAAMAAAMAP7oCQGEAAQAsQgEBA3AAAAMAkAAAAwAAAwA/oAmIB4d+"
    "W6kkprm4CGgwIAAAAwMgAAADACFiAAEAB0QBwXKwYkAAAAATY29scm5jbHgAAQANAAaAAAAAFGlzcGUAAAAAAAABLAAAAeAAAAAQ"
    "cGl4aQAAAAADCAgIAAAACWlyb3QDAAAAGGlwbWEAAAAAAAAAAQABBYECAwSFAAAAGmlyZWYAAAAAAAAADmNkc2MAAgABAAEAABDC"
    "bWRhdAAAEGooAa8fECobiLOsYaRy2Kjfo0OzSARoYvG7GThW2qKfWTyNBcce7ymHJ33dInTlwBe0UCj3MxU/QFOIz4J7gCaFnlqT"
    "x/g2Kuei4W6iN64U7X7oq4oKAFpcWqxwc3T11TQdISeUhk+FUexGk6Obuz9u+IbwyMiCUiRAEmMYOuoEyCGTQLRPVlvNoLcSedrV"
    "wjRLMMuSFAleaohReT7lWZKs51Kx/okT8qzRAoS1IPlOGhf2LzFckRgN6IIPkJLfSs5cl6UUha+VBJArCFcRCs/9Qy0M4vW/oWW5"
    "gk/9zKT9A6hl23AZcF+mJAkGh8Vl15mtlfXQlsbOLJtcdiZpXX3DnoIurnBx08L0XFI9Ig8Su4edzd+Ahb2fypktvLIrp1hWxBIh"
    "aq8YKYqaNkV/uKNu9KoTGTcRUKc+CyNFKBLR1NRJBJ8dO/MhYQUpgFyvbfSgcV62zWmzl+SlZQfyziprGuMoooP8py6+QQETRqXO"
    "UOPMEs48mfOjQIqJZHA9kbYqynbQuYy/5n/vr6I0QN3yiEUKWxLLjLCs8IqmAzTUQNlGquygWRjP3Gq22P6G/wIkdNFLT2ko0fd3"
    "OlDHHwd4v/asvb4IXPeklwRLH+KkXo8o/qarMmgUQWaBJXslApIeAo9H+FnGeQM0DuDhjteZiGJgCaRYMe18z0Sc0zJsE4AGJnHV"
    "bk4PiOqpE7CIld7MLpGpFMn5cqVJnjCwcCS+vcwrOEgAAAMABxTTbtsj+dJk4mOt7Qxjcm77Kqg8wPOEQFUd1Phhc3TON4pRjwNr"
    "0sQlAhpsPuCRA8oN1S/uys6ki7AgEAar9rUszftdMWoksbmQUnszYH6pWESM0h3hn/5Xky61/TMojlGQIPBFRoPoX2qZRRHSVo8r"
    "IHhjFa3UsOVY1EZ5h3ZZZlWzftoVb8kKrh+CXErxeCoG7iWyI3f6oXJWLifvIyKhHpSTdyd7eC7gPy7XZDTU+bOQ1tHtkUL8Q5oH"
    "eVOojGyJo0f56d8ZYWWD+A9FJUtCz53X94oGq3ynV/xa/65iHoVO6UmAKve+j/g5eNkwvYYmxTwmYMvRLMMW/tHk6vFWpqGxwT60"
    "F/1Mfxm/KN0kJwVLiYdVXNGOUAznHTYAB8+fK0J9hfHiNqMfRbS4dxkYK98nMqRE44a+gMu/x/5N8JoCm1+y/zF6ZW6fTdSmQOOG"
    "nHBvtaOpZIwtndl84uRb66qYDHsZPl2CD0trAIQcccoP0tAjO0GAY74AWcMPR2ItEniEBUzlR5IayUsUh90UXNS8lXotK1y7+ZZb"
    "6ZxvmMkhd0Irl5Q/IKq8OAb632Zzv4z2oXfStIijJ+0AV+7J/cnZnhsvtoyQKWEUXPWoIZWUQp7xN20IsZrxVHfgCM1rcMCOg00+"
    "o9FlbuHLBMqX2wmMa1npcZoswNPr8uEV+igj8kx657jP1GFp/ADYvNLZ0Ti7hKwHkTpCRlHwQFQYgSefs42ti0Ij/Q29GHD/6Wxw"
    "ev2x0z9AjkHvWfQdLmnH0FHgOCvyTf0Ad4GEsxTJ+Erl5ja1oGhhuXSG+9MchCcW8N6qBP6Q/dpu7QlIhuyrdTAVQ/8d4rMV48Ui"
    "PfqYlNhWheUBKHCaYYDLZ2jigMY1HuimiACpSameUUvCTNCM20eZo2SJyL0ZtTXhvf74eBfC2TIahNjeAxFHHe8+i5egV5Kag//0"
    "PcYxe67Hj9YcsZfp8rPsQGPB8fUe2LI5qbxLjTJwtEAwGk7fjSDBNLorCPMGGzFX+M8xlK6KdXysJisce1t/fqrz3HD8fHwGhtGO"
    "eS+QptrGysxHL3rqMl4q7RlfCn+3cyTSsu5fELsyYpY93NmlBakyrsDjXqZdBFY0VUigagnmwlmCQ8XwO7siirPmOmyvF4/nnwU3"
    "G/TRQrcJ46z4HGq41tbzs4sd3p1X+lbdf0+GdFACDIStpiNEY7ibj04fx5mba6EsRXogWIg7HZta0zLbh2Uu480ZuB7ZztUXcWAz"
    "Kixk1vygKV9I3ZDp4uR1xO8hq3si69yL1ulo/Xdw/ZQiVcoCDpa5EBaFEtWN6GVQAgQVIl3opQg1vvtk5K/5P4sr18dV6rVe8nti"
    "phV8ByeprkJBGUN2uekiNNnDCxJ8uuMQ48QTNZ4dlg0aQlOTesXk8XkAKqcX/wsViA2/iXbQa1Ua5p5hIruzjN8OCJroMSs3UIJp"
    "N64IdZBWsQ1ExgH2u8YgpB4+yXm0r62F48bMVQ6rQCU90cFxIbQxico879sSe24TDLFjrt9H45XTo/B7mio6R/4/FC4ZRakLBeIt"
    "26dD+QIkX5DO8pwjT2Svo7IQDIVDdcVIvcuq1J8SqyCx+IQAQMzGn8A0wRFQ2bBZuTXEwxP/rc0b9F6P3lykMzYJgdgkznywoIC9"
    "XGAGMRnAtHimExnPG67gQpIFe+IbbSYOhXlcK3FzuJ9bWghVbSWLKg7ep7iPJgYaDZA1OjN6r0C4YJRqtootRcIT6wsgatv2KWhi"
    "KnpRjkn6defYcwH5gAKLrrVCD0+tYRWxpBIIfvxcIfK8NHVTVoryXZq5mBV1fSWoDuAyNO+ZwMC29Thpi5e1ePs5x2PGvSW3DvvS"
    "9LZBFimFX03foQJiQciv/xOHxYOAjni7CDPdmHWx4XaMRH0wzujltwTf5svMST92d+i1RGTcnwDPSALvwBBoeBQnie/pWo39iLMU"
    "CjrYgDSqJqpr2wIWw/Z09UC9FQ/Q94Ad8Py3z6lQ7odB5ck42bThItBweYoQd0yDinsGUuA8EvfslmmjGMrUUtYEtQdkJh9clxMo"
    "wXwgH0PkNoRlOVwIWmzBGMkVxAi9kp7nac9qZlC/WMrUTtu32LNHC8vh6n4NHDQNeeRckg2YSgxSotAEItRxvonThbvDEmakM426"
    "K1vVsN0T6u2jBG3rCbPID0tWe6nK3ZXeSdwZdNVFHev9tSO3hqeF9dURwmMUlV+n8sWiszzqGoRaSJj9Kdlsf1W2CPChmyi/3PI2"
    "mzF03yrq2kZDa16NWcmdfnCcOTfQxBBFpYPVuOnZtdQu9T2FJrfUqqv7vmjtTRqaKykCxCQiT/Hw7gEPB/gQ1CnN6uCVpxSsUkxh"
    "jMETD9IvK8+dYzzkFTxEK4JTADlALS7OXAldi+9DGE7W5s+vvw4EP0IcikkS65DBgxK15UJSDVJr4fvYY3oFcHFmjJ+Dwqfn9XLM"
    "fOWP/Qa3m4qjfDDQXUwxyhVsdzRkjLz4f9lRyJQne8bOBdIeg7YNC9Pf3ZO8RNWUaIMduxub6BtCA24xXSv9CxZ1az2fj2gcdFtx"
    "S0+sSdov2O7s0kfCvnbIIzdBUcvmVeedcwZFJY4PdrGMrKXv66+OAnbaXUWyVs5+jmm/wzknr9o301PhdpkX3CuF5GATrDRq6tkM"
    "ldWpQk1Qv+fulKrWq1OLz8AlqNFOwyKhB+K5jt/INpO96GcK08XIAJkZ/7A6xzVSQKEplWwzspZyDuZ30RhkYNgfS6LM2/duIyAV"
    "XKs6LO3a40dcSsiUgMsqZtPxF+GPVFPmdKAWKRBIwzd+8woYDAi2ftT4Z4dZZ7EJY7lcWOLQOrPqgGUqIp4GH/nX9B0019gOgCL3"
    "++TUWWuL+WYRik9jaaGqp4njPlH/lT8fmMfaFSGgq8E2MopYAAlqODoaaRBXa/CdeTaUzRYy7DFpnrhFq3O0H4X/ODc0DlZECbAc"
    "aV3SP4TwCCBJ/K+6WG+osYtTIx7VFrZ0H2hJNGtHQfIyVL9GtkrTlAbyr4D73P3/JgAJZSum4P7WQwXLpZlGQCbHsjq1U1mWVwNx"
    "AfsLpzcVOxWAAq0EeNL74UP/o2xnPkgWkK31vlwC7BEvjqk+GAT5TidXzzpSrR4Q4uqAscW2dspzujASEk058oO5O587cggi4W6s"
    "mH6mfcyPocK2sjnOR1l9a+B0CYEvKTD/MOIcTWirJxXSzJWUR4dHHaLifu3cjB28FG1aenTfqiiLu2IYr1WUbA1Iv/0+bNLpWcIE"
    "DqKRmdpu9/PKwV3qV+PgNfju1+r7AiNby8ohrZet+knXFF2t+0+WfTleUB4pwheYOSzU9JhnGAKMfwrcP5y7NS/Fqy7qXy4ilZop"
    "l42orX6TgAuo9Mn/MtIxpF8rkaGtnoIAxl0VGzXdmzF+dgsV8IceJke9Wz2ytzFUQ/1sn8DlfVY16KuUhAl82Fm7dCztlAAAAwA8"
    "IDaEEJDxajGB0LgIG/DXE4+sz2WHJEBuLvF8VfU3eqnP0GZ/3r3evWgwUjy8dbRu1I4cOKR1lxsq1WcmcyZbdIHntNCqqNnR3CbR"
    "6b4n9GQnLQ8NgADTW04xLGIF99jJJXpdK+vC/Hko8W0fwS43+Nh63s/oODacPJoleQ8rVOAvLf/1g9IcA1yJmER40WSXsIHvA9o4"
    "x4V9uVPFRwD21haQ1xycWsPm/YFSeSc8ogqmZpWpBJ95EjPVPuL1Zk0zAgLO5h3P2MjNsCgo1ib3P3pqGgJSVtvn42pendXt00ZX"
    "CzzJxmEoThoEwdN6m9SQubzI8w9PvA8V9vouR9NCwzLT/2WzE2kSHVUkeMFHSImousJgequ2yBWwXqlKjk23z86Gp4i3uI7T4Jcz"
    "of9TyUh06iGw9YYLqvHv+nhE9gSs7Z47WRCzO5m6/nx580OkDJvYEGPJl4hrA4J23fnofMKM0cSVPIIH264D7iNkJKY/3hIUbcwW"
    "N55VLc2JMtYlqGnz5uLPuQ1Hbe3qALiiZOwBTPMiy3kjV4F1F3yt2qo0LpaYhC+FXY1BhdVz8H8p5CKkt6RyDyTCd0jxPuSppKfv"
    "fAInIsQCVggAIqA7HK12kshl0y/DmlL3gAx6f33ApemGaDQtgNM+SrSzedWUtTCE78NyiQS6NtjcpBdl0GfUzGtca6pCj+4HYaW5"
    "htIp1hVhmgT6fuJXP2/+MVBBq+OUQgaLAGNXSzwiaNGxUthAWiCU8f0DjLih5EQk2CUyT1B6uLRKRZZ+NxDSz7sXuqQ2c5NakK/b"
    "RzO2n8Z9hQoxY9pdkJ/0tay3eqw/R9lrkJrZFGAhC64jZdw/seE+QiybHpn0Vmv06sVKcObQCubMxcnfcKpLe+9LNi5ZhR041kER"
    "iROXs5Dt0SWT0OJj91BjwJkm1vyzlvZUJiz660uLu5UTGIYRVE76b6+1qhHv/fvuGJi6bfWDjmodp6ewTUwtIeP42N+Evpl4RCjD"
    "7KVhodsw7k8Y5YBRF1GFSmOGe7TKapj6sCf8eOkShjHPgczSp/0Iq70aMYbf/PMAxjZ/yMGOveo2PXztNc8oAQvobFzeKz0v6WtN"
    "GuI4PuGGE5jm045/2YSDE1z2XAYT4gOHXnnzODaU3GyTLnAUZBQd/pzf3jZYA2Ec0Ke8MeRQgZ7hh0Wx4rgqX31EgBXHSndHrVcS"
    "1VQfRx2jfUSC6qcYTQo4oLpXCqrAH0enAM8gXf7+zUIgK48V/PhcXHZ+RTPl8Q7EkZuM+HOReVn0ZKFHVt9gk6RPLXIWHDZbyUCY"
    "4IPr9hqI13LT9pQwlVsN6PntwejRYnxtrZ6UHTs5dKZ6geUaQk54XCaI1OsFu2a2lYdm3EoycoQM6pdkGtgVbeafzzXg1MUCRGy3"
    "HU0eqV07Bsu+sAAAAAZFeGlmAABNTQAqAAAACAADAQ8AAgAAAAYAAAAyARAAAgAAAAoAAAA4ARIAAwAAAAEABgAAAAAAAEFwcGxl"
    "AGlQaG9uZSAxNQA="
)


def iphone_heic() -> bytes:
    """IMG_0413.HEIC: a sunset stored sideways with orientation 6 (HEIF `irot`): shown 480x300."""
    return base64.b64decode("".join(_HEIC))


def phone_photo_mpo(size: tuple[int, int] = (1200, 900)) -> bytes:
    """IMG_0412.JPEG as a current phone writes it: the photo (EXIF orientation 8: turn it left), then
    a second picture, a depth map, in an MPF index, so that Pillow reports MPO."""
    w, h = size
    photo = Image.new("RGB", size, (90, 150, 210))
    draw = ImageDraw.Draw(photo)
    draw.rectangle((0, h * 0.65, w, h), fill=(70, 130, 60))
    draw.ellipse((w * 0.1, h * 0.1, w * 0.3, h * 0.1 + w * 0.2), fill=(255, 225, 120))
    draw.polygon([(w * 0.55, h * 0.65), (w * 0.75, h * 0.2), (w * 0.95, h * 0.65)], fill=(120, 110, 130))
    stored = photo.transpose(Image.Transpose.ROTATE_270)  # sideways: orientation 8 turns it back
    depth = Image.linear_gradient("L").resize((stored.width // 4, stored.height // 4)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 8
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15"
    buf = io.BytesIO()
    stored.save(buf, "MPO", save_all=True, append_images=[depth], exif=exif, quality=88)
    return buf.getvalue()


def snail_svg() -> bytes:
    """An SVG icon as a designer exports it: viewBox, gradient, shapes, nothing executable."""
    return b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <defs>
    <radialGradient id="shell" cx="0.45" cy="0.45" r="0.6">
      <stop offset="0" stop-color="#f2c27a"/><stop offset="1" stop-color="#b5652a"/>
    </radialGradient>
  </defs>
  <path d="M6 50 Q20 44 40 46 L58 50 Q60 54 54 55 L10 55 Q4 54 6 50 Z" fill="#7fa86a"/>
  <circle cx="30" cy="34" r="16" fill="url(#shell)" stroke="#7a3f15" stroke-width="2"/>
  <path d="M30 34 m-8 0 a8 8 0 1 1 8 8 a4 4 0 1 1 -4 -4" fill="none" stroke="#7a3f15" stroke-width="2"/>
  <path d="M50 48 L54 30 M54 48 L58 32" stroke="#5c7f4c" stroke-width="2" stroke-linecap="round"/>
  <circle cx="54" cy="30" r="2" fill="#2b2b2b"/><circle cx="58" cy="32" r="2" fill="#2b2b2b"/>
</svg>
"""
