// A diagnostic setting on one existing Azure ML online endpoint that streams its console, traffic
// and event logs to medic's event hub. Deployed by main.bicep into the endpoint's resource group.

targetScope = 'resourceGroup'

@description('The Azure ML workspace that holds the endpoint.')
param workspaceName string

@description('The online endpoint.')
param endpointName string

@description('Resource id of the Event Hubs namespace authorization rule (Send) the setting streams with.')
param eventHubAuthorizationRuleId string

@description('The event hub the setting streams to.')
param eventHubName string

@description('Name of the diagnostic setting (an endpoint takes at most five).')
param settingName string = 'medic'

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: workspaceName
}

resource endpoint 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints@2024-04-01' existing = {
  parent: workspace
  name: endpointName
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: endpoint
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    eventHubName: eventHubName
    logs: [
      {
        category: 'AmlOnlineEndpointConsoleLog'
        enabled: true
      }
      {
        category: 'AmlOnlineEndpointTrafficLog'
        enabled: true
      }
      {
        category: 'AmlOnlineEndpointEventLog'
        enabled: true
      }
    ]
  }
}

@description('Resource id of the online endpoint.')
output endpointId string = endpoint.id
