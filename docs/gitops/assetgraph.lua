-- Argo CD health check for kasset.io/AssetGraph: Ready=True -> Healthy,
-- Invalid=True -> Degraded (with the reason), otherwise Progressing.
local hs = {status = "Progressing", message = "Waiting for the kasset operator"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Invalid" and condition.status == "True" then
      hs.status = "Degraded"
      hs.message = condition.message or "Invalid"
      return hs
    end
    if condition.type == "Ready" and condition.status == "True" then
      hs.status = "Healthy"
      hs.message = condition.message or "Ready"
    end
  end
end
return hs
