-- Argo CD health check for kasset.io/Asset: its last materialization failed ->
-- Degraded; Fresh or Stale (materialized, maybe out of date) -> Healthy; never
-- materialized yet (Missing) -> Progressing.
local hs = {}
local health = obj.status and obj.status.health
if health == "Failed" then
  hs.status = "Degraded"
  hs.message = "The last materialization failed"
elseif health == "Fresh" or health == "Stale" then
  hs.status = "Healthy"
  hs.message = health
else
  hs.status = "Progressing"
  hs.message = "Not materialized yet"
end
return hs
