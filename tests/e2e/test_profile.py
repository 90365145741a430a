"""Profiles: display name and avatar URL through matrix-nio, seen by
others; other users' profiles are read-only; unknown users are 404."""
import nio

from conftest import C, nio_run, q


def profile_path(user_id, field=""):
    return C + "/profile/" + q(user_id) + field


def test_profile_round_trip_with_nio(stack, uniq):
    name = uniq("prof")

    async def go(client):
        reg = await client.register(name, "pw-prof-1")
        assert isinstance(reg, nio.RegisterResponse), reg
        initial = await client.get_displayname()
        set_name = await client.set_displayname("Alice Example")
        set_avatar = await client.set_avatar("mxc://localhost/AbCdEfGh")
        return (initial, set_name, set_avatar, await client.get_displayname(),
                await client.get_avatar(), await client.get_profile())

    initial, set_name, set_avatar, name_resp, avatar_resp, profile = nio_run(stack, go)
    # As Synapse: a new account's display name is its localpart.
    assert isinstance(initial, nio.ProfileGetDisplayNameResponse), initial
    assert initial.displayname == name
    assert isinstance(set_name, nio.ProfileSetDisplayNameResponse), set_name
    assert isinstance(set_avatar, nio.ProfileSetAvatarResponse), set_avatar
    assert isinstance(name_resp, nio.ProfileGetDisplayNameResponse), name_resp
    assert name_resp.displayname == "Alice Example"
    assert isinstance(avatar_resp, nio.ProfileGetAvatarResponse), avatar_resp
    assert avatar_resp.avatar_url == "mxc://localhost/AbCdEfGh"
    assert isinstance(profile, nio.ProfileGetResponse), profile
    assert (profile.displayname, profile.avatar_url) == \
        ("Alice Example", "mxc://localhost/AbCdEfGh")
    # Anyone may read a profile, without a token.
    user_id = "@%s:%s" % (name, stack.server_name)
    status, body = stack.request("GET", profile_path(user_id))
    assert status == 200
    assert (body["displayname"], body["avatar_url"]) == \
        ("Alice Example", "mxc://localhost/AbCdEfGh")
    status, body = stack.request("GET", "/_matrix/client/v3/profile/%s/displayname" % user_id)
    assert (status, body["displayname"]) == (200, "Alice Example")


def test_clear_displayname(stack, account):
    path = profile_path(account["user_id"], "/displayname")
    status, _ = stack.request("PUT", path, {"displayname": ""}, token=account["access_token"])
    assert status == 200
    status, body = stack.request("GET", path)
    assert status == 200
    assert body.get("displayname") is None


def test_other_users_profile_is_read_only(stack, account, uniq):
    other = stack.register(uniq("other"), "pw-other-1")
    for field, value in (("displayname", "Mallory"), ("avatar_url", "mxc://localhost/x")):
        status, body = stack.request("PUT", profile_path(other["user_id"], "/" + field),
                                     {field: value}, token=account["access_token"])
        assert (status, body["errcode"]) == (403, "M_FORBIDDEN"), field
    status, body = stack.request("GET", profile_path(other["user_id"]))
    assert status == 200
    assert body.get("displayname") != "Mallory" and "avatar_url" not in body


def test_put_displayname_without_the_key(stack, account):
    status, body = stack.request("PUT", profile_path(account["user_id"], "/displayname"),
                                 {}, token=account["access_token"])
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")


def test_unknown_user_profile(stack, uniq):
    user_id = "@%s:%s" % (uniq("ghost"), stack.server_name)
    for field in ("", "/displayname", "/avatar_url"):
        status, body = stack.request("GET", profile_path(user_id, field))
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND"), field
