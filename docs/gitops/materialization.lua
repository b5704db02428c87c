-- Argo CD health check for kasset.io/Materialization (a run): Healthy when it
-- Succeeded, Degraded when it Failed or was Canceled, Progressing otherwise.
-- Reads the Job-like conditions the operator writes, falling back to status.phase.
local hs = {}
if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the kasset operator to plan the run"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end
local phase = obj.status.phase
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.status == "True" and (condition.type == "Succeeded"
        or condition.type == "Failed" or condition.type == "Invalid") then
      phase = condition.type
    end
  end
end
if phase == "Succeeded" then
  hs.status = "Healthy"
elseif phase == "Failed" or phase == "Invalid" or phase == "Canceled" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = obj.status.message or phase or "Pending"
return hs
